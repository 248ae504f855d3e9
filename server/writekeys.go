package server

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Trust is what a write key may change.
type Trust string

// Trust levels of write keys.
const (
	// TrustClient is for keys embedded in browsers and apps (the default):
	// events, anonymous ids and non-contact traits, but never a change or
	// addition of a user_id, email or phone on a profile that has one.
	TrustClient Trust = "client"
	// TrustServer is for keys held by the customer's own servers: anything
	// a write key can do, including contact identifiers.
	TrustServer Trust = "server"
)

// WriteKey is one write key and its trust level.
type WriteKey struct {
	// Key is the key or a reference to it ("env:NAME").
	Key string
	// Trust is client (the default) or server.
	Trust Trust
}

// WriteKeyList is server.write_keys. In YAML each entry is a plain string
// (a client key, "env:NAME" allowed) or an object {key: "...", trust:
// client|server}.
type WriteKeyList []WriteKey

// UnmarshalYAML reads plain strings and {key, trust} objects, refusing
// unknown fields and trust levels with their line.
func (l *WriteKeyList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("line %d: server.write_keys: want a list", n.Line)
	}
	out := make(WriteKeyList, 0, len(n.Content))
	for i, item := range n.Content {
		switch item.Kind {
		case yaml.ScalarNode:
			out = append(out, WriteKey{Key: item.Value, Trust: TrustClient})
		case yaml.MappingNode:
			var key string
			trust := TrustClient
			for j := 0; j+1 < len(item.Content); j += 2 {
				k, v := item.Content[j], item.Content[j+1]
				switch k.Value {
				case "key":
					key = v.Value
				case "trust":
					trust = Trust(v.Value)
					if trust != TrustClient && trust != TrustServer {
						return fmt.Errorf("line %d: server.write_keys[%d].trust: %q (want client or server)", v.Line, i, v.Value)
					}
				default:
					return fmt.Errorf("line %d: server.write_keys[%d]: unknown field %q (want key, trust)", k.Line, i, k.Value)
				}
			}
			if key == "" {
				return fmt.Errorf("line %d: server.write_keys[%d].key: required", item.Line, i)
			}
			out = append(out, WriteKey{Key: key, Trust: trust})
		default:
			return fmt.Errorf("line %d: server.write_keys[%d]: want a string or {key, trust}", item.Line, i)
		}
	}
	*l = out
	return nil
}
