module github.com/taloskit/taloskit/conformance/schematic

go 1.26

require github.com/siderolabs/image-factory v0.8.4

require (
	github.com/siderolabs/gen v0.8.5 // indirect
	gopkg.in/yaml.v3 v3.0.1 // indirect
)
