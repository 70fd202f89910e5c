package mixer

import (
	"image"
	"image/color"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/threeway-mcu/threeway/codec"
)

// Placeholder tile colours: dark grey, light grey text, neutral chroma.
const (
	placeholderY     = 40
	placeholderTextY = 200
)

// ReconnectingLabel is the placeholder's label for a party whose
// connection dropped, label being its usual one.
func ReconnectingLabel(label string) string { return label + " - reconnecting" }

// placeholderCache renders the "no video" tile once per label and size.
type placeholderCache struct {
	mu     sync.Mutex
	frames map[placeholderKey]*codec.Frame
}

type placeholderKey struct {
	label string
	w, h  int
}

// get returns the placeholder for label at w x h. The frame belongs to the
// cache and is never changed after it is made, so callers read it freely.
func (c *placeholderCache) get(label string, w, h int) *codec.Frame {
	key := placeholderKey{label, w, h}
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.frames[key]; ok {
		return f
	}
	if c.frames == nil {
		c.frames = map[placeholderKey]*codec.Frame{}
	}
	f := renderPlaceholder(label, w, h)
	c.frames[key] = f
	return f
}

func (c *placeholderCache) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.frames = nil
}

// bitmapSafe spells what the ASCII bitmap font lacks and labels use: the
// bullets of a masked phone number ("+49 •••• 1234").
var bitmapSafe = strings.NewReplacer("•", "*")

// renderPlaceholder draws label centred on a dark tile, the bitmap font
// magnified to about a tenth of the tile's height.
func renderPlaceholder(label string, w, h int) *codec.Frame {
	f := codec.NewFrame(w, h)
	f.Fill(placeholderY, 128, 128)
	label = bitmapSafe.Replace(label)

	face := basicfont.Face7x13
	textW := font.MeasureString(face, label).Ceil()
	if textW == 0 {
		return f
	}
	text := image.NewGray(image.Rect(0, 0, textW, face.Height))
	d := font.Drawer{Dst: text, Src: image.NewUniform(color.Gray{255}), Face: face,
		Dot: fixed.P(0, face.Ascent)}
	d.DrawString(label)

	scale := max(1, min(f.Height/10/face.Height, f.Width*9/10/textW))
	x0 := (f.Width - textW*scale) / 2
	y0 := (f.Height - face.Height*scale) / 2
	for y := 0; y < face.Height*scale; y++ {
		for x := 0; x < textW*scale; x++ {
			px, py := x0+x, y0+y
			if px < 0 || py < 0 || px >= f.Width || py >= f.Height {
				continue
			}
			if text.GrayAt(x/scale, y/scale).Y > 127 {
				f.Y[py*f.Width+px] = placeholderTextY
			}
		}
	}
	return f
}
