package main

// Upgrade compatibility as Talos's installer checks it: whether a node at one
// version may install another, and whether a Kubernetes version runs on a
// Talos version. Both come from this release's compatibility package.

import (
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"github.com/siderolabs/talos/pkg/machinery/compatibility"
)

// upgradeable answers whether a host at req.From may upgrade to req.To.
func upgradeable(req request) response {
	host, err := compatibility.ParseTalosVersion(&machine.VersionInfo{Tag: req.From})
	if err != nil {
		return response{Stage: "parse", Error: err.Error()}
	}

	target, err := compatibility.ParseTalosVersion(&machine.VersionInfo{Tag: req.To})
	if err != nil {
		return response{Stage: "parse", Error: err.Error()}
	}

	if err = target.UpgradeableFrom(host); err != nil {
		return response{Stage: "compat", Error: err.Error()}
	}

	return response{OK: true}
}

// kubernetesSupported answers whether Kubernetes req.KubernetesVersion runs on Talos req.To.
func kubernetesSupported(req request) response {
	k8s, err := compatibility.ParseKubernetesVersion(req.KubernetesVersion)
	if err != nil {
		return response{Stage: "parse", Error: err.Error()}
	}

	target, err := compatibility.ParseTalosVersion(&machine.VersionInfo{Tag: req.To})
	if err != nil {
		return response{Stage: "parse", Error: err.Error()}
	}

	if err = k8s.SupportedWith(target); err != nil {
		return response{Stage: "compat", Error: err.Error()}
	}

	return response{OK: true}
}
