package signaling

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token kinds: a call token admits one role to one call; an agent token
// signs an agent console in.
const (
	kindCall  = "call"
	kindAgent = "agent"
)

// ErrBadToken is any token that does not admit its bearer; the errors
// that wrap it say why in a sentence for the link's holder.
var ErrBadToken = errors.New("bad token")

// badToken is a refused token: its text is the sentence, and it is
// ErrBadToken.
type badToken string

func (b badToken) Error() string      { return string(b) }
func (badToken) Is(target error) bool { return target == ErrBadToken }

// claims are what a token carries, signed with HMAC-SHA256.
type claims struct {
	Kind  string `json:"kind"`
	Call  string `json:"call,omitempty"`
	Role  string `json:"role,omitempty"`
	Agent string `json:"agent,omitempty"`
	jwt.RegisteredClaims
}

// tokens issues and checks HS256 tokens with one secret.
type tokens struct {
	secret []byte
	ttl    time.Duration
	now    func() time.Time
}

func (t *tokens) issue(c claims) (string, error) {
	now := t.now()
	c.IssuedAt = jwt.NewNumericDate(now)
	c.ExpiresAt = jwt.NewNumericDate(now.Add(t.ttl))
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return s, nil
}

// check verifies signature, algorithm, expiry and kind.
func (t *tokens) check(raw, kind string) (*claims, error) {
	if raw == "" {
		return nil, badToken("This link carries no token: open the link you were given for the call or the console.")
	}
	var c claims
	_, err := jwt.ParseWithClaims(raw, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(t.now))
	if err != nil {
		return nil, badToken(tokenProblem(err))
	}
	if c.Kind != kind {
		return nil, badToken(fmt.Sprintf("This is a %s link, not a %s link.", c.Kind, kind))
	}
	return &c, nil
}

func (t *tokens) callToken(callID, role, agentID string) (string, error) {
	return t.issue(claims{Kind: kindCall, Call: callID, Role: role, Agent: agentID})
}

func (t *tokens) agentToken(agentID string) (string, error) {
	return t.issue(claims{Kind: kindAgent, Agent: agentID})
}

// tokenProblem says in our words what is wrong with a token: the JWT
// library's own text names its internals, and is not part of the
// protocol.
func tokenProblem(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "This link has expired: ask for a new one."
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "This link is not valid yet: check the clocks, or ask for a new one."
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "This link never expires, which this server does not accept: ask for a new one."
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "This link was not issued by this server."
	default:
		return "This link's token is damaged: copy the whole link again."
	}
}
