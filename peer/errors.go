package peer

import (
	"errors"
	"fmt"
)

// ServerError is a refusal the server sent as an `error` message.
type ServerError struct {
	Code    string // stable machine-readable code, e.g. "role_taken"
	Message string // explanation for people
}

// Error implements error.
func (e *ServerError) Error() string {
	return fmt.Sprintf("peer: server error %s: %s", e.Code, e.Message)
}

// Errors returned (wrapped) by this package.
var (
	// ErrConfig means Config holds an unusable value.
	ErrConfig = errors.New("peer: invalid config")
	// ErrClosed means the Peer was used after Close.
	ErrClosed = errors.New("peer: closed")
	// ErrConnection means the media connection failed or was closed
	// before it was established.
	ErrConnection = errors.New("peer: media connection failed")
	// ErrSocketClosed means the WebSocket ended.
	ErrSocketClosed = errors.New("peer: websocket closed")
	// ErrLeft means the server ended this party's leg (a `left` message)
	// while an operation waited on it.
	ErrLeft = errors.New("peer: the server ended this party's leg")
	// ErrNotInCall means an operation needs media but the peer has no
	// live leg (it never joined, or its leg ended).
	ErrNotInCall = errors.New("peer: not in a call")
)
