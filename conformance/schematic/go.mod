// The schematic oracle: the Image Factory's pkg/schematic from image-factory
// v1.4.0, the newest release the Go module proxy serves (v1.5.0 and the other
// v1.x patch releases answer 403). It knows every field of our model.
//
// go.yaml.in/yaml/v4 is raised from v1.4.0's rc.4 to rc.6: the factory's
// latest release (v1.5.0) pins a commit just after rc.6
// (v4.0.0-rc.6.0.20260809190231-643e93b9c9be), which the proxy does not serve;
// rc.6 is the nearest served version before it. It matters: rc.4 double-quotes
// YAML 1.1 look-alikes such as 'yes' and '1:20', and so gives other IDs than
// the factory that runs today.
module github.com/taloskit/taloskit/conformance/schematic

go 1.26.5

require github.com/siderolabs/image-factory v1.4.0

require (
	github.com/siderolabs/gen v0.8.7 // indirect
	github.com/siderolabs/talos/pkg/machinery v1.14.0-alpha.1 // indirect
	go.yaml.in/yaml/v4 v4.0.0-rc.6 // indirect
)
