package server

import (
	"fmt"
	"strings"

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

// serverKeyMark prefixes a server-trust entry of a WriteKeyList. It cannot
// appear in YAML by accident (a NUL byte) and secret() removes it.
const serverKeyMark = "\x00trust=server\x00"

// WriteKeyList is server.write_keys. In YAML each entry is a plain string
// (a client key, "env:NAME" allowed) or an object {key: "...", trust:
// client|server}. In Go, entries are strings: ServerWriteKey marks one as
// a server key.
type WriteKeyList []string

// ServerWriteKey makes a WriteKeyList entry for a server-trust key.
func ServerWriteKey(ref string) string { return serverKeyMark + ref }

// writeKeyTrust splits an entry into its trust level and key reference.
func writeKeyTrust(entry string) (Trust, string) {
	if ref, ok := strings.CutPrefix(entry, serverKeyMark); ok {
		return TrustServer, ref
	}
	return TrustClient, entry
}

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
			out = append(out, item.Value)
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
			if trust == TrustServer {
				key = ServerWriteKey(key)
			}
			out = append(out, key)
		default:
			return fmt.Errorf("line %d: server.write_keys[%d]: want a string or {key, trust}", item.Line, i)
		}
	}
	*l = out
	return nil
}
