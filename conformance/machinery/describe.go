package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	_ "unsafe" // for go:linkname

	"gopkg.in/yaml.v3"

	"github.com/siderolabs/talos/pkg/machinery/config/config"
)

//go:linkname newDocument github.com/siderolabs/talos/pkg/machinery/config/internal/registry.New
func newDocument(kind, version string) (config.Document, error)

// typeModel describes how a Go type decodes from YAML: the facts a decoder on
// another platform needs to accept exactly what this release accepts.
type typeModel struct {
	// Kind is one of struct, string, bool, int, uint, float, list, map, any, custom.
	Kind string `json:"kind"`
	// Ref names a struct type in the defs table.
	Ref string `json:"ref,omitempty"`
	// Bits of an int, uint or float.
	Bits int `json:"bits,omitempty"`
	// Elem of a list or map; Key of a map.
	Elem *typeModel `json:"elem,omitempty"`
	Key  *typeModel `json:"key,omitempty"`
	// Go names a custom (self-decoding) or named type.
	Go string `json:"go,omitempty"`
	// Decodes says how a custom type reads YAML: "unmarshaler" (yaml.Unmarshaler),
	// "text" (encoding.TextUnmarshaler), "duration" (time.Duration).
	Decodes string `json:"decodes,omitempty"`
	// Under is the underlying shape of a custom type that wraps a plain one.
	Under *typeModel `json:"under,omitempty"`
}

type fieldModel struct {
	Name       string `json:"name"`
	GoName     string `json:"goName"`
	Inline     bool   `json:"inline,omitempty"`
	Omitempty  bool   `json:"omitempty,omitempty"`
	Pointer    bool   `json:"pointer,omitempty"`
	Deprecated string `json:"deprecated,omitempty"`
	// Merge is the field's merge tag ("replace": a patch replaces the value whole).
	Merge string     `json:"merge,omitempty"`
	Type  *typeModel `json:"type"`
}

type structModel struct {
	Go     string       `json:"go"`
	Fields []fieldModel `json:"fields"`
}

type kindModel struct {
	Kind       string `json:"kind"`
	APIVersion string `json:"apiVersion"`
	Ref        string `json:"ref"`
	Named      bool   `json:"named"`
}

type modelOut struct {
	Version string                  `json:"version"`
	Kinds   []kindModel             `json:"kinds"`
	Defs    map[string]*structModel `json:"defs"`
	// Sensitive lists, per document kind, the YAML paths of the fields this
	// release's own redaction replaces (see sensitivePaths).
	Sensitive map[string][]string `json:"sensitive"`
}

var (
	unmarshalerType     = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
	textUnmarshalerType = reflect.TypeOf((*interface{ UnmarshalText([]byte) error })(nil)).Elem()
	// The yaml.v2-style interface, which yaml.v3 still honours.
	obsoleteUnmarshalerType = reflect.TypeOf((*interface{ UnmarshalYAML(func(any) error) error })(nil)).Elem()
	durationPath            = "time.Duration"
)

type describer struct {
	defs       map[string]*structModel
	deprecated map[string]string // "pkgpath.Type.Field" -> replacement hint
	parsedPkgs map[string]bool
	modRoot    string
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func typeName(t reflect.Type) string {
	if t.Name() == "" {
		return t.String()
	}

	return t.PkgPath() + "." + t.Name()
}

func (d *describer) model(t reflect.Type) *typeModel {
	for t.Kind() == reflect.Pointer {
		if implements(t.Elem(), unmarshalerType) || implements(t.Elem(), obsoleteUnmarshalerType) || implements(t.Elem(), textUnmarshalerType) {
			t = t.Elem()

			break
		}

		t = t.Elem()
	}

	if typeName(t) == durationPath {
		return &typeModel{Kind: "custom", Go: typeName(t), Decodes: "duration"}
	}

	if implements(t, unmarshalerType) || implements(t, obsoleteUnmarshalerType) {
		return &typeModel{Kind: "custom", Go: typeName(t), Decodes: "unmarshaler", Under: d.plain(t)}
	}

	if implements(t, textUnmarshalerType) {
		return &typeModel{Kind: "custom", Go: typeName(t), Decodes: "text", Under: d.plain(t)}
	}

	return d.plain(t)
}

// plain is the shape of a type, ignoring any custom decoding it has.
func (d *describer) plain(t reflect.Type) *typeModel {
	m := &typeModel{}
	if t.Name() != "" && t.PkgPath() != "" {
		m.Go = typeName(t)
	}

	switch t.Kind() {
	case reflect.String:
		m.Kind = "string"
	case reflect.Bool:
		m.Kind = "bool"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		m.Kind, m.Bits = "int", t.Bits()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		m.Kind, m.Bits = "uint", t.Bits()
	case reflect.Float32, reflect.Float64:
		m.Kind, m.Bits = "float", t.Bits()
	case reflect.Slice, reflect.Array:
		m.Kind, m.Elem = "list", d.model(t.Elem())
		if t.Elem().Kind() == reflect.Uint8 {
			m.Kind, m.Elem = "bytes", nil
		}
	case reflect.Map:
		m.Kind, m.Key, m.Elem = "map", d.model(t.Key()), d.model(t.Elem())
	case reflect.Interface:
		m.Kind = "any"
	case reflect.Struct:
		m.Kind, m.Ref = "struct", typeName(t)
		d.structDef(t)
	case reflect.Pointer:
		return d.model(t)
	default:
		m.Kind = "unsupported:" + t.Kind().String()
	}

	return m
}

func (d *describer) structDef(t reflect.Type) {
	name := typeName(t)
	if _, ok := d.defs[name]; ok {
		return
	}

	def := &structModel{Go: name}
	d.defs[name] = def
	d.parsePackage(t.PkgPath())

	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}

		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}

		parts := strings.Split(tag, ",")
		fm := fieldModel{GoName: f.Name, Name: parts[0]}

		for _, opt := range parts[1:] {
			switch opt {
			case "inline":
				fm.Inline = true
			case "omitempty":
				fm.Omitempty = true
			}
		}

		if fm.Name == "" && !fm.Inline {
			fm.Name = strings.ToLower(f.Name)
		}

		fm.Pointer = f.Type.Kind() == reflect.Pointer
		fm.Merge = f.Tag.Get("merge")
		fm.Deprecated = d.deprecated[name+"."+f.Name]
		fm.Type = d.model(f.Type)
		def.Fields = append(def.Fields, fm)
	}
}

// The deprecation note runs from "Deprecated:" to the end of the field's comment.
var deprecatedLine = regexp.MustCompile(`(?ms)^\s*Deprecated:?\s*(.*)$`)

// parsePackage reads a machinery package's source for the fields it marks
// deprecated; the doc comments are the only place that fact lives.
func (d *describer) parsePackage(pkgPath string) {
	const prefix = "github.com/siderolabs/talos/pkg/machinery"

	if d.parsedPkgs[pkgPath] || !strings.HasPrefix(pkgPath, prefix) || d.modRoot == "" {
		return
	}

	d.parsedPkgs[pkgPath] = true
	dir := filepath.Join(d.modRoot, strings.TrimPrefix(pkgPath, prefix))

	fset := token.NewFileSet()

	pkgs, err := parser.ParseDir(fset, dir, nil, parser.ParseComments)
	if err != nil {
		return
	}

	for _, pkg := range pkgs {
		for _, file := range pkg.Files {
			ast.Inspect(file, func(n ast.Node) bool {
				ts, ok := n.(*ast.TypeSpec)
				if !ok {
					return true
				}

				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					return false
				}

				for _, field := range st.Fields.List {
					if field.Doc == nil {
						continue
					}

					m := deprecatedLine.FindStringSubmatch(field.Doc.Text())
					if m == nil {
						continue
					}

					for _, ident := range field.Names {
						d.deprecated[pkgPath+"."+ts.Name.Name+"."+ident.Name] = replacementHint(m[1])
					}
				}

				return false
			})
		}
	}
}

var quotedName = regexp.MustCompile("[`'\"]([A-Za-z0-9.*]+)[`'\"]|\\b([A-Z][A-Za-z0-9]*Config)\\b")

// replacementHint keeps only the names of the documents or fields that replace a
// deprecated field (the rest of upstream's comment is not ours to copy).
func replacementHint(text string) string {
	var names []string

	seen := map[string]bool{}

	for _, m := range quotedName.FindAllStringSubmatch(text, -1) {
		n := m[1]
		if n == "" {
			n = m[2]
		}

		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}

	if len(names) == 0 {
		return "-"
	}

	return strings.Join(names, ",")
}

func moduleRoot() string {
	v := machineryVersion()
	if v == "" {
		return ""
	}

	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}

	return filepath.Join(strings.TrimSpace(string(out)), "github.com/siderolabs/talos/pkg/machinery@"+v)
}

// registeredKinds finds the document kinds this release registers: the first
// argument of every registry.Register call in machinery's config types, with
// constants resolved. The registry itself is internal to machinery.
func registeredKinds(modRoot string) ([]string, error) {
	var kinds []string

	root := filepath.Join(modRoot, "config", "types")

	err := filepath.WalkDir(root, func(path string, entry fs.DirEntry, err error) error {
		if err != nil || !entry.IsDir() {
			return err
		}

		fset := token.NewFileSet()

		pkgs, err := parser.ParseDir(fset, path, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
		if err != nil {
			return err
		}

		for _, pkg := range pkgs {
			consts := map[string]string{}
			var args []ast.Expr

			for _, file := range pkg.Files {
				ast.Inspect(file, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.ValueSpec:
						for i, name := range n.Names {
							if i < len(n.Values) {
								if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
									consts[name.Name], _ = strconv.Unquote(lit.Value)
								}
							}
						}
					case *ast.CallExpr:
						if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Register" && len(n.Args) == 2 {
							if x, ok := sel.X.(*ast.Ident); ok && x.Name == "registry" {
								args = append(args, n.Args[0])
							}
						}
					}

					return true
				})
			}

			for _, arg := range args {
				switch a := arg.(type) {
				case *ast.BasicLit:
					v, _ := strconv.Unquote(a.Value)
					kinds = append(kinds, v)
				case *ast.Ident:
					if v, ok := consts[a.Name]; ok {
						kinds = append(kinds, v)
					}
				}
			}
		}

		return nil
	})

	// ParseDir hands packages and files over in map order.
	sort.Strings(kinds)

	return slices.Compact(kinds), err
}

func describeKinds() response {
	d := &describer{defs: map[string]*structModel{}, deprecated: map[string]string{}, parsedPkgs: map[string]bool{}, modRoot: moduleRoot()}
	out := modelOut{Version: machineryVersion(), Defs: d.defs, Sensitive: map[string][]string{}}

	kinds, err := registeredKinds(d.modRoot)
	if err != nil {
		return response{Stage: "kinds", Error: err.Error()}
	}

	for _, kind := range kinds {
		apiVersion := "v1alpha1"

		doc, err := newDocument(kind, apiVersion)
		if err != nil {
			return response{Stage: "kinds", Error: kind + ": " + err.Error()}
		}

		t := reflect.TypeOf(doc)
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}

		d.structDef(t)

		paths, err := sensitivePaths(kind, apiVersion)
		if err != nil {
			return response{Stage: "sensitive", Error: err.Error()}
		}

		if len(paths) > 0 {
			out.Sensitive[kind] = paths
		}

		_, named := doc.(config.NamedDocument)
		out.Kinds = append(out.Kinds, kindModel{Kind: kind, APIVersion: apiVersion, Ref: typeName(t), Named: named})
	}

	sort.Slice(out.Kinds, func(i, j int) bool { return out.Kinds[i].Kind < out.Kinds[j].Kind })
	resolveHints(d.defs, kinds)

	return response{OK: true, Kinds: out}
}

// resolveHints keeps, of the names a deprecation note mentions, the document kinds
// this release registers, expanding patterns such as Registry*Config; a note that
// names none of them becomes "-".
func resolveHints(defs map[string]*structModel, kinds []string) {
	for _, def := range defs {
		for i := range def.Fields {
			hint := def.Fields[i].Deprecated
			if hint == "" || hint == "-" {
				continue
			}

			var names []string

			seen := map[string]bool{}

			for _, name := range strings.Split(hint, ",") {
				pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(name), `\*`, ".*") + "$"

				re, err := regexp.Compile(pattern)
				if err != nil {
					continue
				}

				// A note may name a kind without its Config suffix.
				withSuffix := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(name), `\\*`, ".*") + "Config$")

				for _, kind := range kinds {
					if (re.MatchString(kind) || withSuffix.MatchString(kind)) && !seen[kind] {
						seen[kind] = true
						names = append(names, kind)
					}
				}
			}

			if len(names) == 0 {
				def.Fields[i].Deprecated = "-"
			} else {
				def.Fields[i].Deprecated = strings.Join(names, ",")
			}
		}
	}
}
