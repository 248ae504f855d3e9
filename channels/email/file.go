package email

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tactcdp/tact/channels"
)

// FileConfig configures the file adapter.
type FileConfig struct {
	// Dir receives one NAME.eml file per message, NAME being the local part
	// of the Message-ID (so a retried send overwrites, never duplicates).
	// Created (0750) if missing. Required.
	Dir string
	// Workers composes messages in parallel. Default 2.
	Workers int
}

// File is the zero-setup adapter: it writes each message, exactly as it
// would go over SMTP, into a folder. Open the files with any mail client.
type File struct {
	cfg Config
	fc  FileConfig
}

var _ channels.Channel = (*File)(nil)

// NewFile returns a file adapter.
func NewFile(cfg Config, fc FileConfig) (*File, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if fc.Dir == "" {
		return nil, errors.New("email: file adapter needs a directory")
	}
	if fc.Workers <= 0 {
		fc.Workers = 2
	}
	if err := os.MkdirAll(fc.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("email: %w", err)
	}
	return &File{cfg: cfg, fc: fc}, nil
}

// Name returns "email".
func (f *File) Name() string { return channels.Email }

// Send writes each message to a file.
func (f *File) Send(ctx context.Context, batch []channels.Message) []channels.Result {
	return channels.SendEach(ctx, batch, f.fc.Workers, f.sendOne)
}

// PathFor returns the file a message with this Message-ID is written to.
func (f *File) PathFor(messageID string) string {
	local := messageID
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	return filepath.Join(f.fc.Dir, local+".eml")
}

func (f *File) sendOne(ctx context.Context, m channels.Message) channels.Result {
	msg, err := Compose(&f.cfg, m)
	if err != nil {
		return composeFailure(err)
	}
	if res, ok := channels.CheckGate(ctx, f.cfg.Gate, channels.Email, m); !ok {
		return res
	}
	path := f.PathFor(msg.MessageID)
	tmp, err := os.CreateTemp(f.fc.Dir, ".tmp-*.eml")
	if err != nil {
		return channels.Transient("file", err)
	}
	_, werr := tmp.Write(msg.Raw)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return channels.Transient("file", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return channels.Transient("file", err)
	}
	return channels.Delivered(msg.MessageID)
}
