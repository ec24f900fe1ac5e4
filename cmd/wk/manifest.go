package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// manifest is one object read from a file given with -f.
type manifest struct {
	source string // the file name, or "STDIN"
	index  int    // the document's position in its file, from 1
	line   int    // the line its document starts on, from 1
	raw    []byte // the object as JSON
	obj    map[string]any

	apiVersion, kind, name, namespace string
}

// manifestFile is the objects of one file, or the error that kept it from being read. A file
// with an error contributes no objects at all.
type manifestFile struct {
	source  string
	objects []*manifest
	err     error
}

// errPathNotExist is wrapped when a -f path does not exist.
var errPathNotExist = errors.New("does not exist")

// readManifestFiles expands the -f arguments (files, directories of .yaml/.yml/.json files,
// recursively with recursive, and "-" for stdin) and parses each file. A path that does not
// exist is returned as an error before anything is parsed, as kubectl does.
func readManifestFiles(paths []string, recursive bool, stdin io.Reader) ([]manifestFile, error) {
	if len(paths) == 0 {
		return nil, errors.New("must specify one of -f and -k")
	}
	var files []string
	for _, p := range paths {
		if p == "-" {
			files = append(files, "-")
			continue
		}
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			return nil, fmt.Errorf("the path %q is a URL: wk reads manifests from files and stdin only; download it first", p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("the path %q %w", p, errPathNotExist)
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		found, err := manifestsInDir(p, recursive)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	out := make([]manifestFile, 0, len(files))
	for _, f := range files {
		var data []byte
		var err error
		source := f
		if f == "-" {
			source = "STDIN"
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			out = append(out, manifestFile{source: source, err: fmt.Errorf("read %s: %w", source, err)})
			continue
		}
		objs, err := parseManifests(source, data)
		out = append(out, manifestFile{source: source, objects: objs, err: err})
	}
	return out, nil
}

// manifestsInDir lists the manifest files of dir in name order, descending into
// subdirectories when recursive.
func manifestsInDir(dir string, recursive bool) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

// yamlLine finds the line number in a YAML parser's error.
var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseManifests splits data into documents (YAML separated by "---" lines, or a stream of JSON
// objects) and converts each to an object. A List kind is expanded into its items. Any error
// names the source, the document and, where the parser gives one, the line in the file; on
// error no objects are returned.
func parseManifests(source string, data []byte) ([]*manifest, error) {
	type doc struct {
		body []byte
		line int
	}
	var docs []doc
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		dec := json.NewDecoder(bytes.NewReader(data))
		for i := 1; ; i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("error parsing %s (document %d): %w", source, i, err)
			}
			docs = append(docs, doc{body: raw, line: 1})
		}
	} else {
		docs = nil
		start := 1
		var cur bytes.Buffer
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
		n := 0
		for sc.Scan() {
			n++
			line := sc.Text()
			if isDocSeparator(line) {
				docs = append(docs, doc{body: bytes.Clone(cur.Bytes()), line: start})
				cur.Reset()
				start = n + 1
				continue
			}
			cur.WriteString(line)
			cur.WriteByte('\n')
		}
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("error parsing %s: %w", source, err)
		}
		docs = append(docs, doc{body: cur.Bytes(), line: start})
	}

	var out []*manifest
	index := 0
	for _, d := range docs {
		if isBlankYAML(d.body) {
			continue
		}
		index++
		j, err := yaml.YAMLToJSON(d.body)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
			if m := yamlLine.FindStringSubmatchIndex(msg); m != nil {
				n, _ := strconv.Atoi(msg[m[2]:m[3]])
				msg = msg[:m[2]] + strconv.Itoa(n+d.line-1) + msg[m[3]:]
			}
			return nil, fmt.Errorf("error parsing %s (document %d, starting at line %d): %s", source, index, d.line, msg)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			continue
		}
		objs, err := toManifests(source, index, d.line, j)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// isDocSeparator reports whether a line separates YAML documents: "---", optionally followed by
// spaces or a comment.
func isDocSeparator(line string) bool {
	if !strings.HasPrefix(line, "---") {
		return false
	}
	rest := strings.TrimSpace(line[3:])
	return rest == "" || strings.HasPrefix(rest, "#")
}

// isBlankYAML reports whether a document holds nothing but blank lines and comments.
func isBlankYAML(b []byte) bool {
	for _, l := range bytes.Split(b, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) > 0 && l[0] != '#' {
			return false
		}
	}
	return true
}

// toManifests checks one document and expands a List.
func toManifests(source string, index, line int, j []byte) ([]*manifest, error) {
	var obj map[string]any
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return nil, fmt.Errorf("error parsing %s (document %d, starting at line %d): the document is not an object", source, index, line)
	}
	m, err := newManifest(source, index, line, obj)
	if err != nil {
		return nil, err
	}
	if m.kind != "List" && !(strings.HasSuffix(m.kind, "List") && obj["items"] != nil) {
		if m.name == "" {
			return nil, fmt.Errorf("error validating %q (document %d): metadata.name not set", source, index)
		}
		return []*manifest{m}, nil
	}
	items, ok := obj["items"].([]any)
	if !ok && obj["items"] != nil {
		return nil, fmt.Errorf("error validating %q (document %d): items of the %s is not a list", source, index, m.kind)
	}
	var out []*manifest
	for i, it := range items {
		o, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("error validating %q (document %d): items[%d] is not an object", source, index, i)
		}
		if m.kind != "List" { // a typed list such as DeploymentList names its items' kind
			if _, has := o["kind"]; !has {
				o["kind"] = strings.TrimSuffix(m.kind, "List")
			}
			if _, has := o["apiVersion"]; !has {
				o["apiVersion"] = m.apiVersion
			}
		}
		im, err := newManifest(source, index, line, o)
		if err != nil {
			return nil, fmt.Errorf("%w (items[%d])", err, i)
		}
		if im.name == "" {
			return nil, fmt.Errorf("error validating %q (document %d): items[%d]: metadata.name not set", source, index, i)
		}
		out = append(out, im)
	}
	return out, nil
}

func newManifest(source string, index, line int, obj map[string]any) (*manifest, error) {
	m := &manifest{source: source, index: index, line: line, obj: obj}
	m.apiVersion, _ = obj["apiVersion"].(string)
	m.kind, _ = obj["kind"].(string)
	var missing []string
	if m.apiVersion == "" {
		missing = append(missing, "apiVersion not set")
	}
	if m.kind == "" {
		missing = append(missing, "kind not set")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("error validating %q (document %d): error validating data: [%s]", source, index, strings.Join(missing, ", "))
	}
	if md, ok := obj["metadata"].(map[string]any); ok {
		m.name, _ = md["name"].(string)
		m.namespace, _ = md["namespace"].(string)
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return nil, fmt.Errorf("encode %s (document %d): %w", source, index, err)
	}
	m.raw = raw
	return m, nil
}

// setNamespace writes ns into the object's metadata (or removes it when ns is empty) and
// re-encodes it.
func (m *manifest) setNamespace(ns string) error {
	md, ok := m.obj["metadata"].(map[string]any)
	if !ok {
		md = map[string]any{}
		m.obj["metadata"] = md
	}
	if ns == "" {
		delete(md, "namespace")
	} else {
		md["namespace"] = ns
	}
	m.namespace = ns
	raw, err := json.Marshal(m.obj)
	if err != nil {
		return fmt.Errorf("encode %s %s: %w", m.kind, m.name, err)
	}
	m.raw = raw
	return nil
}
