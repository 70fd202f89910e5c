package call

import (
	"bytes"
	"testing"
)

// Any bytes given as --directory either are refused with an error or make
// a directory every agent of which can take a call.
func FuzzLoadDirectory(f *testing.F) {
	f.Add(defaultDirectory)
	for _, seed := range []string{
		"queues: []\nagents: []\n",
		"queues:\n  - {id: sales, name: Sales}\nagents:\n  - {id: ann, name: Ann, skills: [sales]}\n",
		"queues:\n  - {id: sales}\n  - {id: sales}\n",
		"agents:\n  - {id: Ann, name: Ann}\n",
		"agents:\n  - {id: ann, skills: [nope]}\n",
		"queues: &a [*a]\n",
		"unknown: 1\n",
		"queues: {id: 1}\n",
		"\xff\xfe",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := LoadDirectory(bytes.NewReader(data))
		if err != nil {
			return
		}
		c := NewCenter(Params{Directory: d})
		for _, a := range d.Agents {
			if _, err := c.CreateCall("Ann", a.ID); err != nil {
				t.Fatalf("agent %q of an accepted directory cannot take a call: %v", a.ID, err)
			}
		}
	})
}
