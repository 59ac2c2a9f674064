package main

import (
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
)

// normalize loads a config with this release's loader and encodes it again the way
// configpatcher's output does (comments off), so that two configs that mean the
// same to Talos print the same bytes. Plain NewFromBytes is used on every release:
// the option that skips validation at load time exists only from 1.14 on, and
// configpatcher itself loads without it.
func normalize(req request) response {
	cfg, err := configloader.NewFromBytes([]byte(req.Config))
	if err != nil {
		return response{Stage: "load", Error: err.Error()}
	}

	b, err := cfg.EncodeBytes(encoder.WithComments(encoder.CommentsDisabled))
	if err != nil {
		return response{Stage: "encode", Error: err.Error()}
	}

	return response{OK: true, Config: string(b)}
}
