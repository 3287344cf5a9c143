package gatehouse

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// LabelRelation is the relation that ties an object to its label, the
// display data (a name, an amount) that Gatehouse keeps in SpiceDB so that
// it holds no state of its own. No permission reads a label.
const LabelRelation = "label"

// maxLabel keeps a label's id within SpiceDB's 1024-byte limit.
const maxLabel = 700

// EncodeLabel turns display data into a label object; it fails when the data is too long.
func EncodeLabel(data map[string]string) (Object, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return Object{}, fmt.Errorf("encoding label: %w", err)
	}
	if len(b) > maxLabel {
		return Object{}, Invalid("name", "display data is too long (at most %d bytes)", maxLabel)
	}
	return Object{Type: TypeLabel, ID: base64.RawURLEncoding.EncodeToString(b)}, nil
}

// DecodeLabel reads the display data back from a label object.
func DecodeLabel(o Object) (map[string]string, error) {
	b, err := base64.RawURLEncoding.DecodeString(o.ID)
	if err != nil {
		return nil, fmt.Errorf("decoding label %s: %w", o.ID, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decoding label %s: %w", o.ID, err)
	}
	return m, nil
}
