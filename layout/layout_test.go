package layout

import (
	"reflect"
	"testing"
)

func TestTiles1280x720(t *testing.T) {
	r := func(x, y, w, h int) Rect { return Rect{x, y, w, h} }
	tests := []struct {
		name string
		spec Spec
		want []Rect
	}{
		{"equal0", Spec{Mode: Equal}, []Rect{}},
		{"equal1", Spec{Parties: []string{customer}, Mode: Equal},
			[]Rect{r(0, 0, 1280, 720)}},
		{"equal2", Spec{Parties: []string{customer, agent}, Mode: Equal},
			[]Rect{r(0, 180, 640, 360), r(640, 180, 640, 360)}},
		{"equal3", Spec{Parties: []string{customer, agent, third}, Mode: Equal},
			[]Rect{r(0, 0, 640, 360), r(640, 0, 640, 360), r(320, 360, 640, 360)}},
		{"equal3 ignores focus", Spec{Parties: []string{customer, agent, third}, Mode: Equal, Focus: "nobody"},
			[]Rect{r(0, 0, 640, 360), r(640, 0, 640, 360), r(320, 360, 640, 360)}},
		{"equal4", Spec{Parties: allParties, Mode: Equal},
			[]Rect{r(0, 0, 640, 360), r(640, 0, 640, 360), r(0, 360, 640, 360), r(640, 360, 640, 360)}},
		{"maximize1", Spec{Parties: []string{agent}, Mode: Maximize, Focus: agent},
			[]Rect{r(0, 0, 1280, 720)}},
		{"maximize2 customer", Spec{Parties: []string{customer, agent}, Mode: Maximize, Focus: customer},
			[]Rect{r(0, 90, 960, 540), r(960, 270, 320, 180)}},
		{"maximize2 agent", Spec{Parties: []string{customer, agent}, Mode: Maximize, Focus: agent},
			[]Rect{r(960, 270, 320, 180), r(0, 90, 960, 540)}},
		{"maximize3 customer", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: customer},
			[]Rect{r(0, 90, 960, 540), r(960, 180, 320, 180), r(960, 360, 320, 180)}},
		{"maximize3 agent", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: agent},
			[]Rect{r(960, 180, 320, 180), r(0, 90, 960, 540), r(960, 360, 320, 180)}},
		{"maximize3 third", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: third},
			[]Rect{r(960, 180, 320, 180), r(960, 360, 320, 180), r(0, 90, 960, 540)}},
		{"maximize4 agent", Spec{Parties: allParties, Mode: Maximize, Focus: agent},
			[]Rect{r(960, 90, 320, 180), r(0, 90, 960, 540), r(960, 270, 320, 180), r(960, 450, 320, 180)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tiles, err := Tiles(1280, 720, tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got := []Rect{}
			for i, tile := range tiles {
				if tile.Party != tt.spec.Parties[i] {
					t.Errorf("tile %d is %q, want %q", i, tile.Party, tt.spec.Parties[i])
				}
				got = append(got, tile.Rect)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}
