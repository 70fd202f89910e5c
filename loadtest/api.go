package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// api is the server's HTTP API as a client.
type api struct {
	base, key string
	http      *http.Client
}

// apiError is a refusal from the API, with its stable code.
type apiError struct {
	Status int
	Code   string `json:"error"`
	Msg    string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		e := &apiError{Status: resp.StatusCode}
		_ = json.NewDecoder(resp.Body).Decode(e)
		return e
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

type agentInfo struct {
	ID     string   `json:"id"`
	Skills []string `json:"skills"`
	State  string   `json:"state"`
}

func (a *api) agents(ctx context.Context) ([]agentInfo, error) {
	var out struct{ Agents []agentInfo }
	return out.Agents, a.do(ctx, "GET", "/api/agents", nil, &out)
}

type callLinks struct {
	Call     string                 `json:"call"`
	Node     string                 `json:"node"`
	Customer struct{ Token string } `json:"customer"`
	Agent    struct{ Token string } `json:"agent"`
}

func (a *api) createCall(ctx context.Context, customer, agent string) (callLinks, error) {
	var out callLinks
	return out, a.do(ctx, "POST", "/api/calls", map[string]string{"customer": customer, "agent": agent}, &out)
}

func (a *api) consoleToken(ctx context.Context, agent string) (string, error) {
	var out struct{ Token string }
	return out.Token, a.do(ctx, "POST", "/api/agents/"+agent+"/token", nil, &out)
}

// processSample is the server process's CPU and memory from /metrics.
type processSample struct {
	At     time.Time
	CPU    float64 // seconds, user+system
	RSS    float64 // bytes
	OK     bool
	Calls  float64
	Frames float64      // view frames encoded so far
	Views  float64      // views running, each with its encoder
	Encode bucketCounts // threeway_encode_seconds
	// EncodeS is the time views spent encoding so far (the histogram's
	// sum).
	EncodeS float64
	// Node is the node's id, from its series' node label ("": a single
	// server); Nodes holds each node's own sample in a merged one.
	Node  string
	Nodes map[string]processSample
}

// merge adds the sample of one more node: CPU, memory, calls, frames,
// views and encode time add up; the sum is OK only if every part is.
func (s *processSample) merge(n processSample, key string) {
	if s.Nodes == nil {
		s.Nodes, s.OK, s.Encode = map[string]processSample{}, true, bucketCounts{}
	}
	s.Nodes[key] = n
	s.OK = s.OK && n.OK
	s.CPU += n.CPU
	s.RSS += n.RSS
	s.Calls += n.Calls
	s.Frames += n.Frames
	s.Views += n.Views
	s.EncodeS += n.EncodeS
	for le, v := range n.Encode {
		s.Encode[le] += v
	}
}

// scrape reads the process and call gauges from /metrics.
func (a *api) scrape(ctx context.Context) processSample {
	s := processSample{At: time.Now(), Encode: bucketCounts{}}
	req, err := http.NewRequestWithContext(ctx, "GET", a.base+"/metrics", nil)
	if err != nil {
		return s
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return s
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		if s.Node == "" {
			s.Node = nodeLabel(name)
		}
		name = withoutNodeLabel(name)
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.CPU, s.OK = v, true
		case "process_resident_memory_bytes":
			s.RSS = v
		case "threeway_calls":
			s.Calls = v
		case "threeway_frames_encoded_total":
			s.Frames = v
		case "threeway_views":
			s.Views = v
		case "threeway_encode_seconds_sum":
			s.EncodeS = v
		}
		if le, ok := strings.CutPrefix(name, `threeway_encode_seconds_bucket{le="`); ok {
			if bound, err := strconv.ParseFloat(strings.TrimSuffix(le, `"}`), 64); err == nil {
				s.Encode[bound] = v
			}
		}
	}
	return s
}

// withoutNodeLabel drops a cluster node's `node` label from a series
// name, so that a node's series read as a single server's.
func withoutNodeLabel(name string) string {
	open := strings.IndexByte(name, '{')
	if open < 0 {
		return name
	}
	var kept []string
	for _, l := range strings.Split(strings.TrimSuffix(name[open+1:], "}"), ",") {
		if !strings.HasPrefix(l, `node="`) {
			kept = append(kept, l)
		}
	}
	if len(kept) == 0 {
		return name[:open]
	}
	return name[:open] + "{" + strings.Join(kept, ",") + "}"
}

// nodeLabel is the value of a series' node label, or "".
func nodeLabel(name string) string {
	_, rest, ok := strings.Cut(name, `node="`)
	if !ok {
		return ""
	}
	value, _, _ := strings.Cut(rest, `"`)
	return value
}
