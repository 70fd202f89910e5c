package mixer

import (
	"fmt"
	"strconv"

	"github.com/threeway-mcu/threeway/layout"
)

// Canvas is the size a viewer's picture is composed and encoded at. A
// viewer whose screen shows the picture small gets a smaller canvas
// (SetViewerCanvas): fewer pixels to compose and encode, and a bitrate in
// proportion.
type Canvas struct{ Width, Height int }

// minCanvasKbps floors a small canvas's share of the video bitrate.
const minCanvasKbps = 150

// SetViewerCanvas composes viewer id's picture at c from its next
// SetViewer; the zero Canvas is the mixer's own. Viewers of the same spec
// and canvas share one view. c must be even and no larger than the
// mixer's canvas: a larger one would only upscale.
func (m *Mixer) SetViewerCanvas(id string, c Canvas) error {
	p := m.params
	if c != (Canvas{}) && (c.Width < 2 || c.Height < 2 || c.Width%2 != 0 || c.Height%2 != 0 || c.Width > p.Width || c.Height > p.Height) {
		return fmt.Errorf("viewer %s: canvas %dx%d: want even sizes up to %dx%d", id, c.Width, c.Height, p.Width, p.Height)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if c == (Canvas{}) {
		delete(m.canvases, id)
	} else {
		m.canvases[id] = c
	}
	return nil
}

// canvasOfLocked is the canvas viewer id's picture is composed at.
func (m *Mixer) canvasOfLocked(id string) Canvas {
	if c, ok := m.canvases[id]; ok {
		return c
	}
	return Canvas{m.params.Width, m.params.Height}
}

// pictureKeyLocked names the picture viewer id sees with spec: the
// spec's, and its canvas when that is not the mixer's own.
func (m *Mixer) pictureKeyLocked(id string, spec layout.Spec) string {
	key := ViewKey(spec)
	if c, ok := m.canvases[id]; ok {
		key += "@" + strconv.Itoa(c.Width) + "x" + strconv.Itoa(c.Height)
	}
	return key
}

// bitrateKbps is c's share of the mixer's video bitrate, by area.
func (c Canvas) bitrateKbps(p Params) int {
	if c.Width == p.Width && c.Height == p.Height {
		return p.VideoBitrateKbps
	}
	return max(minCanvasKbps, p.VideoBitrateKbps*c.Width*c.Height/(p.Width*p.Height))
}
