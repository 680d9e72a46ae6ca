//go:build !unix

package store

import (
	"context"
	"errors"
)

// walWatch needs a shared mapping of the -shm file (walwatch.go); without
// one the auth generation is read from the database every time.
type walWatch struct{}

func openWalWatch(context.Context, string) (*walWatch, error) {
	return nil, errors.New("no shared mapping of the WAL index on this system")
}

func (*walWatch) generation(ctx context.Context, read func(context.Context) (int64, error)) (int64, error) {
	return read(ctx)
}

func (*walWatch) close() {}
