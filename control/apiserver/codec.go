package apiserver

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/wasmkube/wasmkube/control/api"
)

// Stored objects are the object's JSON without metadata.resourceVersion: the revision of
// the etcd write is the resourceVersion, and responses splice it in (withRV) instead of
// decoding and re-encoding the object.

const metadataKey = `"metadata":{`

// withRV returns stored JSON with metadata.resourceVersion set to rev. stored must not
// already carry a resourceVersion (encode never writes one). It allocates a new slice;
// stored is left untouched, as it may be shared with the watch cache.
func withRV(stored []byte, rev int64) []byte {
	return appendWithRV(make([]byte, 0, len(stored)+32), stored, rev)
}

// appendWithRV appends stored with its resourceVersion spliced in to dst.
func appendWithRV(dst, stored []byte, rev int64) []byte {
	i := bytes.Index(stored, []byte(metadataKey))
	if i < 0 {
		return append(dst, stored...)
	}
	j := i + len(metadataKey)
	dst = append(dst, stored[:j]...)
	dst = append(dst, `"resourceVersion":"`...)
	dst = strconv.AppendInt(dst, rev, 10)
	dst = append(dst, '"')
	if j < len(stored) && stored[j] != '}' {
		dst = append(dst, ',')
	}
	return append(dst, stored[j:]...)
}

// encode returns obj's JSON for storage: without resourceVersion.
func encode(obj api.Object) ([]byte, error) {
	m := obj.GetObjectMeta()
	rv := m.ResourceVersion
	m.ResourceVersion = ""
	b, err := json.Marshal(obj)
	m.ResourceVersion = rv
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Name, err)
	}
	return b, nil
}

// decodeStored decodes a stored object of r and sets its resourceVersion to rev. Stored
// objects were encoded by encode, so api.Unmarshal (encoding/json's semantics, twice as fast)
// decodes them; strictness is for what clients send.
func decodeStored(r *resource, value []byte, rev int64) (api.Object, error) {
	obj := r.New()
	if err := api.Unmarshal(value, obj); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", r.Resource, err)
	}
	obj.GetObjectMeta().ResourceVersion = strconv.FormatInt(rev, 10)
	return obj, nil
}

// readBody reads a request body of at most limit bytes; a longer one is a 413.
func readBody(req *http.Request, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(req.Body, int64(limit)+1))
	if err != nil {
		return nil, api.BadRequest(fmt.Sprintf("read request body: %v", err))
	}
	if len(b) > limit {
		return nil, api.TooLarge(fmt.Sprintf("the request body is larger than %d bytes", limit))
	}
	return b, nil
}

// mediaType returns the media type of the request's Content-Type, without parameters.
func mediaType(req *http.Request) string {
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return "application/json"
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ct
	}
	return mt
}

// bodyJSON reads the request body of a create or update as JSON, converting YAML.
func (s *Server) bodyJSON(req *http.Request, r *resource) ([]byte, error) {
	return s.typedBody(req, r.Kind)
}

// typedBody reads a request body holding an object of kind as JSON: JSON as it is, YAML
// and Kubernetes' protobuf converted.
func (s *Server) typedBody(req *http.Request, kind string) ([]byte, error) {
	b, err := readBody(req, s.bodyLimit())
	if err != nil {
		return nil, err
	}
	switch mt := mediaType(req); mt {
	case "application/json", "*/*":
	case "application/yaml", "application/x-yaml", "text/yaml":
		j, err := yaml.YAMLToJSON(b)
		if err != nil {
			return nil, api.BadRequest(fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml: %v", err))
		}
		b = j
	case protobufType:
		j, err := protoToJSON(b, map[string]bool{kind: true})
		if err != nil {
			return nil, err
		}
		b = j
	default:
		return nil, api.NewStatusError(http.StatusUnsupportedMediaType, api.ReasonUnsupportedMedia,
			fmt.Sprintf("the body of the request was in an unknown format (%s) - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf", mt))
	}
	if len(b) > s.cfg.MaxObjectBytes {
		return nil, api.TooLarge(fmt.Sprintf("the object is %d bytes of JSON, over the limit of %d", len(b), s.cfg.MaxObjectBytes))
	}
	return b, nil
}

// bodyLimit bounds raw request bodies: YAML and patches may be larger than the JSON they
// make, so three times the object limit, as Kubernetes' 3 MiB to its 1.5 MiB.
func (s *Server) bodyLimit() int { return 3 * s.cfg.MaxObjectBytes }

// decodeBody strictly decodes a body of r's kind. It checks the kind and apiVersion (400 on a
// mismatch, filled in when absent) and turns decode errors into Statuses: 400 for malformed
// JSON, 422 naming each unknown or mistyped field.
func (s *Server) decodeBody(r *resource, body []byte, name string) (api.Object, error) {
	obj := r.New()
	if err := s.dec.Decode(body, obj); err != nil {
		if errors.Is(err, api.ErrMalformed) {
			return nil, api.BadRequest(fmt.Sprintf("the body of the request could not be decoded: %v", err))
		}
		var tm api.TypeMeta
		json.Unmarshal(body, &tm)
		if err := checkKind(r, &tm); err != nil {
			return nil, err
		}
		var fe api.FieldErrors
		if errors.As(err, &fe) {
			if name == "" {
				var m struct {
					Metadata struct{ Name, GenerateName string }
				}
				json.Unmarshal(body, &m)
				name = m.Metadata.Name
				if name == "" {
					name = m.Metadata.GenerateName
				}
			}
			return nil, api.Invalid(r.GroupKind(), name, fe)
		}
		return nil, api.BadRequest(err.Error())
	}
	if err := checkKind(r, obj.GetTypeMeta()); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkKind refuses a body whose kind or apiVersion is not r's, and fills them in when
// absent.
func checkKind(r *resource, tm *api.TypeMeta) error {
	gv := r.GroupVersion()
	if (tm.Kind != "" && tm.Kind != r.Kind) || (tm.APIVersion != "" && tm.APIVersion != gv) {
		return api.BadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s), or the kind (%s) does not match %s",
			tm.APIVersion, gv, tm.Kind, r.Kind))
	}
	tm.Kind, tm.APIVersion = r.Kind, gv
	return nil
}

// newUID returns a random version 4 UUID.
func newUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 36)
	j := 0
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out[j] = '-'
			j++
		}
		out[j], out[j+1] = hex[c>>4], hex[c&0xf]
		j += 2
	}
	return string(out)
}

// nameSuffixAlphabet is Kubernetes' alphabet for generated names: no vowels (no words),
// no look-alikes.
const nameSuffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// generateName appends 5 random characters to base, truncating base so the result fits
// in 63 characters, as Kubernetes does.
func generateName(base string) string {
	const maxBase = 63 - 5
	if len(base) > maxBase {
		base = base[:maxBase]
	}
	var b [5]byte
	rand.Read(b[:])
	var sb strings.Builder
	sb.WriteString(base)
	for _, c := range b {
		sb.WriteByte(nameSuffixAlphabet[int(c)%len(nameSuffixAlphabet)])
	}
	return sb.String()
}
