package call

import (
	"reflect"
	"strings"
	"testing"
)

func TestLoadDirectory(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring of the error; "" for success
	}{
		{"valid", `
queues: [{id: q1, name: Q one}]
agents: [{id: a1, name: A one, skills: [q1]}, {id: a_2-x, name: A two}]`, ""},
		{"empty lists", "queues: []\nagents: []", ""},
		{"unknown top-level field", "queues: []\nagentz: []", "agentz"},
		{"unknown queue field", "queues: [{id: q1, name: Q, colour: red}]", "colour"},
		{"unknown agent field", "agents: [{id: a1, name: A, skill: [q1]}]", "skill"},
		{"not yaml", "queues: [", "directory"},
		{"duplicate queue", "queues: [{id: q1, name: A}, {id: q1, name: B}]", `queue "q1" listed twice`},
		{"duplicate agent", "agents: [{id: a1, name: A}, {id: a1, name: B}]", `agent "a1" listed twice`},
		{"upper-case queue id", "queues: [{id: Billing, name: B}]", `queue id "Billing"`},
		{"empty queue id", "queues: [{name: B}]", `queue id ""`},
		{"queue id with a space", "queues: [{id: 'q 1', name: B}]", `queue id "q 1"`},
		{"agent id starting with -", "agents: [{id: -a, name: A}]", `agent id "-a"`},
		{"agent id with a dot", "agents: [{id: a.b, name: A}]", `agent id "a.b"`},
		{"agent id of 65 characters", "agents: [{id: " + strings.Repeat("a", 65) + ", name: A}]", "agent id"},
		{"agent id of 64 characters", "agents: [{id: " + strings.Repeat("a", 64) + ", name: A}]", ""},
		{"skill naming no queue", "queues: [{id: q1, name: Q}]\nagents: [{id: a1, name: A, skills: [q2]}]", `skill "q2", which is no queue`},
		{"agent without name", "agents: [{id: a1}]", `agent "a1" has no name`},
		{"contact", "queues: [{id: q1, name: Q}]\ncontacts: [{name: Desk, number: '+49 30 555-0100', skill: q1}]", ""},
		{"contact without name", "contacts: [{number: '+4930123456'}]", "contact 1 (+4930123456) has no name"},
		{"contact with letters", "contacts: [{name: Desk, number: 555-CALL}]", `contact "Desk": invalid_field`},
		{"contact skill naming no queue", "contacts: [{name: Desk, number: '+4930123456', skill: q9}]", `skill "q9", which is no queue`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDirectory(strings.NewReader(tt.yaml))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("loaded; want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadDirectoryKeepsEverything(t *testing.T) {
	d, err := LoadDirectory(strings.NewReader(`
queues: [{id: q1, name: Q one}, {id: q2, name: Q two}]
agents: [{id: a1, name: A one, skills: [q2, q1]}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := Directory{
		Queues: []Queue{{"q1", "Q one"}, {"q2", "Q two"}},
		Agents: []Agent{{ID: "a1", Name: "A one", Skills: []string{"q2", "q1"}}},
	}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("got %+v, want %+v", d, want)
	}
}

func TestDefaultDirectory(t *testing.T) {
	want := Directory{
		Queues: []Queue{{"billing", "Billing"}, {"tech-support", "Tech support"}},
		Agents: []Agent{
			{ID: "alice", Name: "Alice Archer", Skills: []string{"billing"}},
			{ID: "bob", Name: "Bob Baker", Skills: []string{"billing", "tech-support"}},
			{ID: "carol", Name: "Carol Chen", Skills: []string{"billing", "tech-support"}},
			{ID: "dave", Name: "Dave Diaz", Skills: []string{"tech-support"}},
		},
		Contacts: []Contact{
			{Name: "Supervisor desk", Number: "+49305550100"},
			{Name: "Billing partner hotline", Number: "+49305550199", Skill: "billing"},
		},
	}
	if got := DefaultDirectory(); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got := newFixture(t).c.Directory(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Center.Directory() = %+v, want the directory it was made with", got)
	}
}

// Contacts' numbers are stored as they will be dialled, and a dial plan
// that would not dial one refuses the directory.
func TestDirectoryContacts(t *testing.T) {
	d, err := LoadDirectory(strings.NewReader("contacts: [{name: Desk, number: '0049 (30) 555-0100'}]"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Contact{{Name: "Desk", Number: "+49305550100"}}; !reflect.DeepEqual(d.Contacts, want) {
		t.Errorf("contacts %+v, want %+v", d.Contacts, want)
	}
	if err := d.CheckContacts(DialPlan{}); err != nil {
		t.Errorf("the default dial plan refuses %s: %v", d.Contacts[0].Number, err)
	}
	us, _ := NewDialPlan(`\+1[0-9]{10}`)
	if err := d.CheckContacts(us); err == nil || !strings.Contains(err.Error(), "number_not_allowed") {
		t.Errorf("a dial plan of +1 numbers: %v, want the contact refused", err)
	}
}

// Equal directories have one digest; an agent more changes it.
func TestDirectoryDigest(t *testing.T) {
	a, b := DefaultDirectory(), DefaultDirectory()
	if a.Digest() != b.Digest() || len(a.Digest()) != 16 {
		t.Fatalf("digests %q and %q of the same directory", a.Digest(), b.Digest())
	}
	b.Agents = append(b.Agents, Agent{ID: "erin", Name: "Erin", Skills: []string{"billing"}})
	if a.Digest() == b.Digest() {
		t.Error("a directory with one more agent has the same digest")
	}
}
