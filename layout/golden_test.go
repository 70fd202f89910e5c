package layout

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/layout")

const goldenDir = "../testdata/layout"

// goldenCases are the layouts a reviewer is most likely to want to see.
var goldenCases = []struct {
	name string
	spec Spec
}{
	{"equal1", Spec{Parties: []string{customer}, Mode: Equal}},
	{"equal2", Spec{Parties: []string{customer, agent}, Mode: Equal}},
	{"equal3", Spec{Parties: []string{customer, agent, third}, Mode: Equal}},
	{"maximize3_customer", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: customer}},
	{"maximize3_agent", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: agent}},
	{"maximize3_third", Spec{Parties: []string{customer, agent, third}, Mode: Maximize, Focus: third}},
	{"maximize2_customer", Spec{Parties: []string{customer, agent}, Mode: Maximize, Focus: customer}},
	{"maximize2_agent", Spec{Parties: []string{customer, agent}, Mode: Maximize, Focus: agent}},
}

// pngCanvases get a picture per case; the JSON golden covers all canvases.
var pngCanvases = []struct{ w, h int }{{1280, 720}, {640, 360}}

// partyColour is keyed by party, not position, so the focus keeps its colour
// when it moves from the column to the large tile.
var partyColour = map[string]uint8{customer: 1, agent: 2, third: 3, fourth: 4}

var palette = color.Palette{
	color.RGBA{0, 0, 0, 255},
	color.RGBA{220, 60, 60, 255},  // customer: red
	color.RGBA{60, 180, 80, 255},  // agent: green
	color.RGBA{60, 100, 220, 255}, // third: blue
	color.RGBA{230, 200, 50, 255}, // fourth: yellow
}

func render(width, height int, tiles []Tile) *image.Paletted {
	img := image.NewPaletted(image.Rect(0, 0, width, height), palette)
	for _, tile := range tiles {
		r := tile.Rect
		for y := r.Y; y < r.Y+r.H; y++ {
			for x := r.X; x < r.X+r.W; x++ {
				img.SetColorIndex(x, y, partyColour[tile.Party])
			}
		}
	}
	return img
}

func TestGoldenPNG(t *testing.T) {
	for _, c := range pngCanvases {
		for _, gc := range goldenCases {
			name := fmt.Sprintf("%dx%d_%s", c.w, c.h, gc.name)
			t.Run(name, func(t *testing.T) {
				tiles, err := Tiles(c.w, c.h, gc.spec)
				if err != nil {
					t.Fatal(err)
				}
				got := render(c.w, c.h, tiles)
				path := filepath.Join(goldenDir, name+".png")
				if *update {
					var buf bytes.Buffer
					if err := png.Encode(&buf, got); err != nil {
						t.Fatal(err)
					}
					writeGolden(t, path, buf.Bytes())
					return
				}
				f, err := os.Open(path)
				if err != nil {
					t.Fatalf("%v (run go test ./layout -update to create)", err)
				}
				defer f.Close()
				want, err := png.Decode(f)
				if err != nil {
					t.Fatal(err)
				}
				// Pixels, not bytes, are compared: the PNG encoder's output
				// may change between Go releases while the picture does not.
				if p, ok := firstDiff(got, want); ok {
					t.Errorf("differs from %s at %v; tiles %v (run with -update if intended)", path, p, tiles)
				}
			})
		}
	}
}

func firstDiff(a, b image.Image) (image.Point, bool) {
	if a.Bounds() != b.Bounds() {
		return b.Bounds().Max, true
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			ar, ag, ab, aa := a.At(x, y).RGBA()
			br, bg, bb, ba := b.At(x, y).RGBA()
			if ar != br || ag != bg || ab != bb || aa != ba {
				return image.Pt(x, y), true
			}
		}
	}
	return image.Point{}, false
}

type jsonTile struct {
	Party string `json:"party"`
	X     int    `json:"x"`
	Y     int    `json:"y"`
	W     int    `json:"w"`
	H     int    `json:"h"`
}

// TestGoldenJSON keeps every golden case on every canvas as text, one tile
// per line, because a rect changing is easier to review as a diff line than
// as a picture.
func TestGoldenJSON(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("[\n")
	first := true
	for _, c := range canvases {
		for _, gc := range goldenCases {
			tiles, err := Tiles(c.w, c.h, gc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if !first {
				buf.WriteString(",\n")
			}
			first = false
			fmt.Fprintf(&buf, "  {\"name\": \"%dx%d_%s\", \"tiles\": [", c.w, c.h, gc.name)
			for i, tile := range tiles {
				r := tile.Rect
				b, err := json.Marshal(jsonTile{tile.Party, r.X, r.Y, r.W, r.H})
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					buf.WriteString(",")
				}
				buf.WriteString("\n    ")
				buf.Write(b)
			}
			buf.WriteString("\n  ]}")
		}
	}
	buf.WriteString("\n]\n")
	if !json.Valid(buf.Bytes()) {
		t.Fatalf("generated invalid JSON:\n%s", buf.Bytes())
	}
	path := filepath.Join(goldenDir, "tiles.golden.json")
	if *update {
		writeGolden(t, path, buf.Bytes())
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./layout -update to create)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("tiles differ from %s (run with -update if intended); got:\n%s", path, buf.Bytes())
	}
}

func writeGolden(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
