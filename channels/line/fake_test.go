package line

import (
	"testing"

	"github.com/tactcdp/tact/channels/line/linetest"
)

// The package's tests run against linetest's loopback Messaging API.
const fakeToken = linetest.Token

type fakeLINE = linetest.Server

func newFakeLINE(t testing.TB) *fakeLINE { return linetest.New(t) }
