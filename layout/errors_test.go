package layout

import (
	"errors"
	"testing"
)

func TestTilesErrors(t *testing.T) {
	three := []string{customer, agent, third}
	tests := []struct {
		name          string
		width, height int
		spec          Spec
		want          error
	}{
		{"focus absent", 1280, 720, Spec{Parties: three, Mode: Maximize, Focus: "nobody"}, ErrFocusAbsent},
		{"focus empty", 1280, 720, Spec{Parties: three, Mode: Maximize}, ErrFocusAbsent},
		{"focus with no parties", 1280, 720, Spec{Mode: Maximize, Focus: agent}, ErrFocusAbsent},
		{"empty mode", 1280, 720, Spec{Parties: three}, ErrUnknownMode},
		{"unknown mode", 1280, 720, Spec{Parties: three, Mode: "grid"}, ErrUnknownMode},
		{"mode case", 1280, 720, Spec{Parties: three, Mode: "Equal"}, ErrUnknownMode},
		{"zero width", 0, 720, Spec{Parties: three, Mode: Equal}, ErrBadCanvas},
		{"zero height", 1280, 0, Spec{Parties: three, Mode: Equal}, ErrBadCanvas},
		{"negative width", -1280, 720, Spec{Parties: three, Mode: Equal}, ErrBadCanvas},
		{"negative height", 1280, -720, Spec{Parties: three, Mode: Equal}, ErrBadCanvas},
		{"zero canvas no parties", 0, 0, Spec{Mode: Equal}, ErrBadCanvas},
		{"too small equal", 4, 4, Spec{Parties: three, Mode: Equal}, ErrBadCanvas},
		{"too small maximize", 8, 8, Spec{Parties: three, Mode: Maximize, Focus: agent}, ErrBadCanvas},
		{"five parties", 1280, 720, Spec{Parties: append(append([]string{}, allParties...), "fifth"), Mode: Equal}, ErrTooManyParties},
		{"duplicate party", 1280, 720, Spec{Parties: []string{customer, agent, customer}, Mode: Equal}, ErrDuplicateParty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tiles, err := Tiles(tt.width, tt.height, tt.spec)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(tiles) != 0 {
				t.Errorf("got tiles %v with error", tiles)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{Equal, Maximize} {
		got, err := ParseMode(string(m))
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %q, %v", m, got, err)
		}
	}
	for _, s := range []string{"", "grid", "EQUAL", " equal"} {
		if _, err := ParseMode(s); !errors.Is(err, ErrUnknownMode) {
			t.Errorf("ParseMode(%q) err = %v, want ErrUnknownMode", s, err)
		}
	}
}
