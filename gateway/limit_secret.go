package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// secretCheckInterval is how often at most a FileSecret looks at its file.
const secretCheckInterval = time.Second

// maxSecretBytes bounds what is read of a secret file.
const maxSecretBytes = 64 << 10

// FileSecret is a secret kept in a file (bearer_token_file), re-read when the
// file changes: its size, modification time or identity (a rename over it, a
// Kubernetes secret's symlink swap). The file is looked at no more than once
// a second, and at once on Refresh. Surrounding white space is trimmed.
//
// It fails closed: a file that becomes unreadable or empty yields no secret
// (Value is nil) until it is good again, so access is denied, never opened.
type FileSecret struct {
	path   string
	now    func() time.Time
	logger *slog.Logger

	mu      sync.Mutex
	checked time.Time
	info    os.FileInfo // nil: the last look failed
	value   []byte
	problem string // the last failure logged, to log each change once
}

// NewFileSecret reads the secret in path now; it fails when the file cannot
// be read or holds only white space.
func NewFileSecret(path string) (*FileSecret, error) {
	s := &FileSecret{path: path, now: time.Now}
	info, value, err := readSecret(path)
	if err != nil {
		return nil, err
	}
	s.info, s.value, s.checked = info, value, s.now()
	return s, nil
}

// Path is the file the secret is read from.
func (s *FileSecret) Path() string { return s.path }

// Value is the secret now: nil when the file is unreadable or empty. A nil
// FileSecret has no value.
func (s *FileSecret) Value() []byte {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now := s.now(); now.Sub(s.checked) >= secretCheckInterval || now.Before(s.checked) {
		s.checked = now
		s.look(false)
	}
	return s.value
}

// Refresh re-reads the file now, changed or not. Safe on a nil FileSecret.
func (s *FileSecret) Refresh() {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checked = s.now()
	s.look(true)
}

// look re-reads the file if it changed (or force). Called with mu held.
func (s *FileSecret) look(force bool) {
	info, err := os.Stat(s.path)
	if err == nil && !force && s.info != nil && os.SameFile(info, s.info) &&
		info.Size() == s.info.Size() && info.ModTime().Equal(s.info.ModTime()) {
		return
	}
	var value []byte
	if err == nil {
		info, value, err = readSecret(s.path)
	}
	if err != nil {
		s.info, s.value = nil, nil
		if msg := err.Error(); msg != s.problem {
			s.problem = msg
			s.log().Error("secret file unusable: denying every request that needs it", "path", s.path, "err", err)
		}
		return
	}
	if s.problem != "" || !bytes.Equal(value, s.value) {
		s.log().Info("secret file read", "path", s.path)
	}
	s.info, s.value, s.problem = info, value, ""
}

// setLogger names where the secret's changes are logged.
func (s *FileSecret) setLogger(l *slog.Logger) {
	if s == nil {
		return
	}
	s.mu.Lock()
	s.logger = l
	s.mu.Unlock()
}

func (s *FileSecret) log() *slog.Logger {
	if s.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.logger
}

func readSecret(path string) (os.FileInfo, []byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxSecretBytes {
		return nil, nil, fmt.Errorf("%s: larger than %d bytes", path, maxSecretBytes)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, nil, errors.New(path + ": empty")
	}
	return info, b, nil
}
