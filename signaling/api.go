package signaling

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/threeway-mcu/threeway/call"
)

// apiRoutes registers the HTTP API; every route needs the API key.
func (srv *Server) apiRoutes(mux *http.ServeMux) {
	mux.Handle("POST /api/calls", srv.withAPIKey(srv.createCall))
	mux.Handle("GET /api/calls", srv.withAPIKey(srv.listCalls))
	mux.Handle("GET /api/agents", srv.withAPIKey(srv.listAgents))
	mux.Handle("GET /api/queues", srv.withAPIKey(srv.listQueues))
	mux.Handle("GET /api/contacts", srv.withAPIKey(srv.listContacts))
	mux.Handle("POST /api/agents/{id}/token", srv.withAPIKey(srv.agentToken))
	mux.Handle("/api/", apiFallback(mux))
}

// apiFallback answers what no API route took: 405, naming the methods
// the path takes, or 404; both as the API's JSON. Without it the page's
// catch-all would answer with its own 404 page.
func apiFallback(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allowed []string
		for _, method := range []string{http.MethodGet, http.MethodPost} {
			probe := r.Clone(r.Context())
			probe.Method = method
			if _, pattern := mux.Handler(probe); strings.HasPrefix(pattern, method+" /api/") {
				allowed = append(allowed, method)
			}
		}
		if len(allowed) == 0 {
			writeJSON(w, http.StatusNotFound, apiError{Error: "not_found", Message: "no such API route"})
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: "method_not_allowed",
			Message: r.URL.Path + " takes " + strings.Join(allowed, " or ")})
	})
}

// apiError is the body of every refusal.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeAPIError answers a refusal and counts it by code.
func (srv *Server) writeAPIError(w http.ResponseWriter, status int, code, message string) {
	if m := srv.observe(); m != nil {
		m.Refused(code)
	}
	writeJSON(w, status, apiError{Error: code, Message: message})
}

// withAPIKey admits requests bearing `Authorization: Bearer API_KEY`.
func (srv *Server) withAPIKey(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || srv.params.APIKey == "" ||
			subtle.ConstantTimeCompare([]byte(key), []byte(srv.params.APIKey)) != 1 {
			srv.writeAPIError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key")
			return
		}
		h(w, r)
	})
}

// partyLink is how one party enters a call: its token and page link.
type partyLink struct {
	Token string `json:"token"`
	URL   string `json:"url"`
}

type createCallResponse struct {
	Call     string    `json:"call"`
	Node     string    `json:"node"` // the node that holds the call (--node-id)
	Customer partyLink `json:"customer"`
	Agent    partyLink `json:"agent"`
}

// CreateCall opens a call between a customer and a named agent and issues
// both parties' tokens and links; baseURL prefixes the links.
func (srv *Server) CreateCall(customer, agentID, baseURL string) (*createCallResponse, error) {
	id, err := srv.center.CreateCall(customer, agentID)
	if err != nil {
		return nil, err
	}
	resp := &createCallResponse{Call: id, Node: srv.params.NodeID}
	for _, p := range []struct {
		role  call.Role
		agent string
		link  *partyLink
	}{{call.Customer, "", &resp.Customer}, {call.AgentRole, agentID, &resp.Agent}} {
		tok, err := srv.tokens.callToken(id, string(p.role), p.agent)
		if err != nil {
			return nil, err
		}
		name := customer
		if p.role == call.AgentRole {
			name = ""
		}
		*p.link = partyLink{Token: tok, URL: callURL(baseURL, id, p.role, name, tok)}
	}
	// The agent's page is also its console: presence, help offers, and
	// the directory for the three-party form.
	console, err := srv.AgentConsole(agentID, baseURL)
	if err != nil {
		return nil, err
	}
	resp.Agent.URL += "&" + url.Values{"console": {console.Token}}.Encode()
	return resp, nil
}

func callURL(baseURL, callID string, role call.Role, name, token string) string {
	q := url.Values{"call": {callID}, "role": {string(role)}, "token": {token}}
	if name != "" {
		q.Set("name", name)
	}
	return base(baseURL) + "/?" + q.Encode()
}

// AgentConsole issues an agent token and its console link.
func (srv *Server) AgentConsole(agentID, baseURL string) (partyLink, error) {
	if !srv.knowsAgent(agentID) {
		return partyLink{}, &call.Error{Code: call.CodeUnknownAgent, Message: "no agent " + agentID}
	}
	tok, err := srv.tokens.agentToken(agentID)
	if err != nil {
		return partyLink{}, err
	}
	return partyLink{Token: tok, URL: base(baseURL) + "/?" + url.Values{"console": {tok}}.Encode()}, nil
}

func base(u string) string { return strings.TrimSuffix(u, "/") }

func (srv *Server) knowsAgent(id string) bool {
	for _, a := range srv.center.Directory().Agents {
		if a.ID == id {
			return true
		}
	}
	return false
}

type createCallRequest struct {
	Customer string `json:"customer"`
	Agent    string `json:"agent"`
}

func (srv *Server) createCall(w http.ResponseWriter, r *http.Request) {
	if srv.refuseWhileStopping(w) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<10))
	var req createCallRequest
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil {
		srv.writeAPIError(w, http.StatusBadRequest, CodeInvalidField, "body must be {\"customer\":NAME,\"agent\":AGENT_ID}")
		return
	}
	if req.Customer == "" || len([]rune(req.Customer)) > 64 || req.Agent == "" {
		srv.writeAPIError(w, http.StatusBadRequest, CodeInvalidField, "customer (1-64 characters) and agent are required")
		return
	}
	if !srv.placeCall(w, r, body) {
		return // placed on another node, which answered, or refused
	}
	resp, err := srv.CreateCall(req.Customer, req.Agent, requestBase(r))
	if err != nil {
		srv.writeCallError(w, err)
		return
	}
	if err := srv.listCreated(r.Context(), resp.Call); err != nil {
		srv.center.EndCall(resp.Call)
		srv.writeAPIError(w, http.StatusServiceUnavailable, CodeClusterUnavailable, "The call could not be listed for the cluster: "+err.Error())
		return
	}
	writeJSON(w, http.StatusCreated, resp)
}

func (srv *Server) listAgents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"agents": srv.center.Agents()})
}

func (srv *Server) listQueues(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"queues": srv.center.Queues()})
}

func (srv *Server) listContacts(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"contacts": srv.contacts()})
}

// contacts are the directory's external numbers; none is an empty list.
func (srv *Server) contacts() []call.Contact {
	if c := srv.center.Directory().Contacts; c != nil {
		return c
	}
	return []call.Contact{}
}

func (srv *Server) agentToken(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	link, err := srv.AgentConsole(id, requestBase(r))
	if err != nil {
		srv.writeCallError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"agent": id, "token": link.Token, "url": link.URL})
}

// writeCallError maps a refusal of the call center to an HTTP status.
func (srv *Server) writeCallError(w http.ResponseWriter, err error) {
	var ce *call.Error
	if !errors.As(err, &ce) {
		srv.writeAPIError(w, http.StatusInternalServerError, CodeInternal, err.Error())
		return
	}
	status := http.StatusUnprocessableEntity
	switch ce.Code {
	case call.CodeUnknownAgent:
		status = http.StatusNotFound
	case call.CodeServerFull:
		status = http.StatusServiceUnavailable
	}
	srv.writeAPIError(w, status, ce.Code, ce.Message)
}

// requestBase is the scheme and host the client used, for links.
func requestBase(r *http.Request) string {
	if b := r.Header.Get(baseHeader); b != "" && r.Header.Get(placedHeader) != "" {
		return b // placed here by another node, for a client of its address (the API key was checked)
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
