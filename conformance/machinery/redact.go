package main

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/siderolabs/talos/pkg/machinery/config/config"
	"github.com/siderolabs/talos/pkg/machinery/config/configloader"
	"github.com/siderolabs/talos/pkg/machinery/config/encoder"
)

// talosReplacement is what the redact op puts in place of a secret unless the
// request names another replacement.
const talosReplacement = "******"

// redact loads a config and encodes Talos's own redacted copy of it (the config
// container's RedactSecrets), as configpatcher prints its output (no comments).
func redact(req request) response {
	cfg, err := configloader.NewFromBytes([]byte(req.Config))
	if err != nil {
		return response{Stage: "load", Error: err.Error()}
	}

	b, err := cfg.RedactSecrets(or(req.Replacement, talosReplacement)).EncodeBytes(encoder.WithComments(encoder.CommentsDisabled))
	if err != nil {
		return response{Stage: "encode", Error: err.Error()}
	}

	return response{OK: true, Config: string(b)}
}

// sensitivePaths finds the fields of a document kind that this release redacts:
// two copies of the document have every field filled with a distinct marker (one
// list item, one map entry, URLs with a jointoken), one copy is redacted by the
// document's own Redact, and the YAML paths whose values differ are its secrets.
// A path joins YAML field names with dots; "*" stands for a list item or map key.
func sensitivePaths(kind, apiVersion string) (paths []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: redact panicked: %v", kind, r)
		}
	}()

	var docs [2]config.Document

	for i := range docs {
		doc, err := newDocument(kind, apiVersion)
		if err != nil {
			return nil, err
		}

		(&filler{}).fill(reflect.ValueOf(doc).Elem(), 0)
		docs[i] = doc
	}

	secret, ok := docs[1].(config.SecretDocument)
	if !ok {
		return nil, nil
	}

	secret.Redact(talosReplacement)

	found := map[string]struct{}{}
	diffPaths(reflect.ValueOf(docs[0]).Elem(), reflect.ValueOf(docs[1]).Elem(), "", found, 0)

	for p := range found {
		paths = append(paths, p)
	}

	sort.Strings(paths)

	return paths, nil
}

// maxDepth bounds the walk through recursive types.
const maxDepth = 16

func customDecoder(t reflect.Type) bool {
	return implements(t, unmarshalerType) || implements(t, obsoleteUnmarshalerType) || implements(t, textUnmarshalerType)
}

// yamlMap is a value as its YAML mapping (through its own marshaler), if it is one.
func yamlMap(v reflect.Value) (map[string]any, bool) {
	if v.CanAddr() {
		v = v.Addr()
	}

	b, err := yaml.Marshal(v.Interface())
	if err != nil {
		return nil, false
	}

	var m map[string]any

	return m, yaml.Unmarshal(b, &m) == nil && m != nil
}

type filler struct{ n int }

func (f *filler) marker() string {
	f.n++

	return fmt.Sprintf("https://m%d.example/?jointoken=m%d", f.n, f.n)
}

func (f *filler) fill(v reflect.Value, depth int) {
	if depth > maxDepth || !v.CanSet() {
		return
	}

	// A type that decodes itself takes a marker as its YAML text when it can.
	if v.Kind() != reflect.Pointer && v.CanAddr() && customDecoder(v.Type()) {
		if yaml.Unmarshal([]byte(strconv.Quote(f.marker())), v.Addr().Interface()) == nil && !v.IsZero() {
			return
		}
	}

	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		f.fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.String:
		v.SetString(f.marker())
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(f.marker()))

			return
		}

		s := reflect.MakeSlice(v.Type(), 1, 1)
		f.fill(s.Index(0), depth+1)
		v.Set(s)
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}

		m := reflect.MakeMap(v.Type())
		e := reflect.New(v.Type().Elem()).Elem()
		f.fill(e, depth+1)
		m.SetMapIndex(reflect.ValueOf(f.marker()).Convert(v.Type().Key()), e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				f.fill(v.Field(i), depth+1)
			}
		}
	}
}

// yamlField is the name a struct field has in YAML, whether it is inlined, and
// whether YAML sees it at all.
func yamlField(f reflect.StructField) (name string, inline, ok bool) {
	if !f.IsExported() {
		return "", false, false
	}

	parts := strings.Split(f.Tag.Get("yaml"), ",")
	if parts[0] == "-" {
		return "", false, false
	}

	for _, p := range parts[1:] {
		if p == "inline" {
			return "", true, true
		}
	}

	if parts[0] == "" {
		return strings.ToLower(f.Name), false, true
	}

	return parts[0], false, true
}

func join(path, name string) string {
	if path == "" {
		return name
	}

	return path + "." + name
}

func diffPaths(a, b reflect.Value, path string, out map[string]struct{}, depth int) {
	if depth > maxDepth {
		return
	}

	mark := func() { out[path] = struct{}{} }

	// A self-decoding value is told apart by the keys of its YAML mapping (a PEM
	// certificate and key), or else as a whole.
	if a.Kind() != reflect.Pointer && customDecoder(a.Type()) {
		if reflect.DeepEqual(a.Interface(), b.Interface()) {
			return
		}

		am, aok := yamlMap(a)
		bm, bok := yamlMap(b)

		if !aok || !bok {
			mark()

			return
		}

		for k, v := range am {
			if !reflect.DeepEqual(v, bm[k]) {
				out[join(path, k)] = struct{}{}
			}
		}

		for k := range bm {
			if _, ok := am[k]; !ok {
				out[join(path, k)] = struct{}{}
			}
		}

		return
	}

	switch a.Kind() {
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			if a.IsNil() != b.IsNil() {
				mark()
			}

			return
		}

		diffPaths(a.Elem(), b.Elem(), path, out, depth+1)
	case reflect.Struct:
		for i := range a.NumField() {
			name, inline, ok := yamlField(a.Type().Field(i))
			if !ok {
				continue
			}

			p := path
			if !inline {
				p = join(path, name)
			}

			diffPaths(a.Field(i), b.Field(i), p, out, depth+1)
		}
	case reflect.Slice:
		if a.Type().Elem().Kind() == reflect.Uint8 || a.Len() != b.Len() {
			if !reflect.DeepEqual(a.Interface(), b.Interface()) {
				mark()
			}

			return
		}

		for i := range a.Len() {
			diffPaths(a.Index(i), b.Index(i), join(path, "*"), out, depth+1)
		}
	case reflect.Map:
		if a.Len() != b.Len() {
			mark()

			return
		}

		iter := a.MapRange()
		for iter.Next() {
			other := b.MapIndex(iter.Key())
			if !other.IsValid() {
				mark()

				continue
			}

			diffPaths(iter.Value(), other, join(path, "*"), out, depth+1)
		}
	default:
		if !reflect.DeepEqual(a.Interface(), b.Interface()) {
			mark()
		}
	}
}
