package call

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"

	"go.yaml.in/yaml/v3"
)

// Agent is a person who can be in calls and be asked for help.
type Agent struct {
	ID     string   `yaml:"id" json:"id"`
	Name   string   `yaml:"name" json:"name"`
	Skills []string `yaml:"skills" json:"skills"`
}

// Queue is a skill queue: help from it goes to an idle agent with the
// skill of the queue's id.
type Queue struct {
	ID   string `yaml:"id" json:"id"`
	Name string `yaml:"name" json:"name"`
}

// Contact is an external number the agents' three-party form offers to
// dial: a supervisor's phone, a partner's hotline.
type Contact struct {
	Name   string `yaml:"name" json:"name"`
	Number string `yaml:"number" json:"number"`                   // normalized as it is loaded
	Skill  string `yaml:"skill,omitempty" json:"skill,omitempty"` // a queue's id, for grouping
}

// Directory lists the agents, queues and contacts.
type Directory struct {
	Queues   []Queue   `yaml:"queues"`
	Agents   []Agent   `yaml:"agents"`
	Contacts []Contact `yaml:"contacts"`
}

// Digest names the directory's contents in 16 hex digits: the nodes of a
// cluster compare theirs, since they share agents by id.
func (d Directory) Digest() string {
	data, err := json.Marshal(d)
	if err != nil {
		panic(fmt.Sprintf("directory: %v", err)) // plain strings and slices
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:8])
}

//go:embed default_directory.yaml
var defaultDirectory []byte

// DefaultDirectory is the embedded demo directory: queues billing and
// tech-support and four agents, enough to try every flow.
func DefaultDirectory() Directory {
	d, err := LoadDirectory(bytes.NewReader(defaultDirectory))
	if err != nil {
		panic(fmt.Sprintf("embedded directory: %v", err)) // fixed at build time
	}
	return d
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// LoadDirectory reads a YAML directory and checks it: ids are lower-case
// [a-z0-9_-], unique, and every skill names a queue.
func LoadDirectory(r io.Reader) (Directory, error) {
	var d Directory
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return d, fmt.Errorf("directory: %w", err)
	}
	return d, d.validate()
}

// CheckContacts refuses a directory whose contacts plan would not dial.
func (d Directory) CheckContacts(plan DialPlan) error {
	for _, c := range d.Contacts {
		if _, err := plan.Check(c.Number); err != nil {
			return fmt.Errorf("directory: contact %q: %w", c.Name, err)
		}
	}
	return nil
}

func (d Directory) validate() error {
	queues := map[string]bool{}
	for _, q := range d.Queues {
		if !idPattern.MatchString(q.ID) {
			return fmt.Errorf("directory: queue id %q: want lower-case letters, digits, _ or -", q.ID)
		}
		if queues[q.ID] {
			return fmt.Errorf("directory: queue %q listed twice", q.ID)
		}
		queues[q.ID] = true
	}
	agents := map[string]bool{}
	for _, a := range d.Agents {
		if !idPattern.MatchString(a.ID) {
			return fmt.Errorf("directory: agent id %q: want lower-case letters, digits, _ or -", a.ID)
		}
		if agents[a.ID] {
			return fmt.Errorf("directory: agent %q listed twice", a.ID)
		}
		agents[a.ID] = true
		if a.Name == "" {
			return fmt.Errorf("directory: agent %q has no name", a.ID)
		}
		for _, s := range a.Skills {
			if !queues[s] {
				return fmt.Errorf("directory: agent %q has skill %q, which is no queue", a.ID, s)
			}
		}
	}
	// Contacts' numbers are stored as they will be dialled.
	for i, c := range d.Contacts {
		if c.Name == "" {
			return fmt.Errorf("directory: contact %d (%s) has no name", i+1, c.Number)
		}
		n, err := NormalizeNumber(c.Number)
		if err != nil {
			return fmt.Errorf("directory: contact %q: %w", c.Name, err)
		}
		if c.Skill != "" && !queues[c.Skill] {
			return fmt.Errorf("directory: contact %q has skill %q, which is no queue", c.Name, c.Skill)
		}
		d.Contacts[i].Number = n
	}
	return nil
}
