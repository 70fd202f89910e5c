package layout

import "errors"

// Errors returned by Tiles and ParseMode, wrapped with detail; test for
// them with errors.Is.
var (
	// ErrUnknownMode reports a mode other than Equal or Maximize,
	// including the empty mode: a zero Spec is more likely a bug than a
	// request for a default.
	ErrUnknownMode = errors.New("layout: unknown mode")
	// ErrFocusAbsent reports a Maximize spec whose Focus is not among the
	// parties, which would otherwise leave nobody to show large.
	ErrFocusAbsent = errors.New("layout: focus party not present")
	// ErrTooManyParties reports more than MaxParties parties.
	ErrTooManyParties = errors.New("layout: too many parties")
	// ErrDuplicateParty reports a party listed twice, which would give one
	// party two tiles and make Focus ambiguous.
	ErrDuplicateParty = errors.New("layout: duplicate party")
	// ErrBadCanvas reports a canvas with a non-positive side, or one too
	// small to give every party a tile of at least 2x2 pixels.
	ErrBadCanvas = errors.New("layout: bad canvas size")
)
