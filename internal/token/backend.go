package token

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tresorhq/tresor/internal/framework"
	"github.com/tresorhq/tresor/internal/logical"
)

// Backend returns the logical backend mounted at auth/token/. It also
// implements logical.SpecialPather and logical.ExistenceChecker.
func (s *Store) Backend() logical.Backend {
	fb, err := framework.New(backendHelp, s.paths())
	if err != nil {
		panic(err) // the path table is static: a failure is a bug
	}
	return &backend{s: s, fb: fb}
}

const backendHelp = `The token credential backend is always enabled and builtin to Tresor.
Client tokens are used to identify a client and to allow Tresor to associate
policies and ACLs which are enforced on every request.`

type backend struct {
	s  *Store
	fb *framework.Backend
}

var (
	_ logical.SpecialPather    = (*backend)(nil)
	_ logical.ExistenceChecker = (*backend)(nil)
)

func (b *backend) HandleRequest(ctx context.Context, req *logical.Request) (*logical.Response, error) {
	return b.fb.HandleRequest(ctx, req)
}

func (b *backend) ExistenceCheck(ctx context.Context, req *logical.Request) (checked, exists bool, err error) {
	return b.fb.ExistenceCheck(ctx, req)
}

// SpecialPaths: revoke-orphan and the accessor list need sudo, as in
// Vault. create-orphan needs none: like Vault, it is governed by its ACL.
func (b *backend) SpecialPaths() *logical.SpecialPaths {
	return &logical.SpecialPaths{Root: []string{"revoke-orphan", "revoke-orphan/*", "accessors", "accessors/*"}}
}

func (s *Store) paths() []*framework.Path {
	write := func(h framework.Handler) map[logical.Operation]framework.Handler {
		return map[logical.Operation]framework.Handler{logical.UpdateOperation: h, logical.CreateOperation: h}
	}
	tokenField := map[string]*framework.Field{"token": {Type: framework.TypeString, Description: "Token ID."}}
	accessorField := map[string]*framework.Field{"accessor": {Type: framework.TypeString, Description: "Accessor of the token."}}
	withIncrement := func(f map[string]*framework.Field) map[string]*framework.Field {
		out := map[string]*framework.Field{"increment": {Type: framework.TypeDuration, Description: "Requested TTL extension."}}
		for k, v := range f {
			out[k] = v
		}
		return out
	}
	return []*framework.Path{
		{Pattern: "create", Fields: createFields, Operations: write(s.handleCreate(false)), Synopsis: "Create a child token."},
		{Pattern: "create-orphan", Fields: createFields, Operations: write(s.handleCreate(true)), Synopsis: "Create an orphan token."},
		{Pattern: "create/{role_name}", Fields: createFields, Operations: write(s.handleCreateRole), Synopsis: "Create a token from a role."},
		{Pattern: "lookup", Fields: tokenField, Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: s.handleLookup, logical.ReadOperation: s.handleLookup,
		}, Synopsis: "Look up a token."},
		{Pattern: "lookup-self", Operations: map[logical.Operation]framework.Handler{
			logical.UpdateOperation: s.handleLookupSelf, logical.ReadOperation: s.handleLookupSelf,
		}, Synopsis: "Look up the calling token."},
		{Pattern: "lookup-accessor", Fields: accessorField, Operations: write(s.handleLookupAccessor), Synopsis: "Look up a token by accessor."},
		{Pattern: "renew", Fields: withIncrement(tokenField), Operations: write(s.handleRenew), Synopsis: "Renew a token."},
		{Pattern: "renew-self", Fields: withIncrement(nil), Operations: write(s.handleRenewSelf), Synopsis: "Renew the calling token."},
		{Pattern: "renew-accessor", Fields: withIncrement(accessorField), Operations: write(s.handleRenewAccessor), Synopsis: "Renew a token by accessor."},
		{Pattern: "revoke", Fields: tokenField, Operations: write(s.handleRevoke), Synopsis: "Revoke a token and its children."},
		{Pattern: "revoke-self", Operations: write(s.handleRevokeSelf), Synopsis: "Revoke the calling token and its children."},
		{Pattern: "revoke-accessor", Fields: accessorField, Operations: write(s.handleRevokeAccessor), Synopsis: "Revoke a token by accessor."},
		{Pattern: "revoke-orphan", Fields: tokenField, Operations: write(s.handleRevokeOrphan), Synopsis: "Revoke a token, orphaning its children."},
		{Pattern: "roles", Operations: map[logical.Operation]framework.Handler{logical.ListOperation: s.handleRoleList}, Synopsis: "List token roles."},
		{Pattern: "roles/{role_name}", Fields: roleFields, ExistenceCheck: s.roleExists, Operations: map[logical.Operation]framework.Handler{
			logical.ReadOperation:   s.handleRoleRead,
			logical.CreateOperation: s.handleRoleWrite,
			logical.UpdateOperation: s.handleRoleWrite,
			logical.DeleteOperation: s.handleRoleDelete,
		}, Synopsis: "Manage a token role."},
		{Pattern: "accessors", Operations: map[logical.Operation]framework.Handler{logical.ListOperation: s.handleAccessors}, Synopsis: "List token accessors."},
		{Pattern: "tidy", Operations: write(s.handleTidy), Synopsis: "Clean up dangling token index entries."},
	}
}

// isSudo reports whether the caller of req holds sudo on its path.
func (s *Store) isSudo(ctx context.Context, req *logical.Request) bool {
	if s.opts.Sudo != nil {
		return s.opts.Sudo(ctx, req)
	}
	if req.Token != nil {
		return req.Token.Root
	}
	e, err := s.lookup(ctx, req.ClientToken, true)
	return err == nil && e.IsRoot()
}

// badRequest is a 400 with Vault's message.
func badRequest(msg string) error { return logical.InvalidRequest("%s", msg) }

// clientError turns the store's errors into Vault's answers.
func clientError(err error, notFound string) error {
	switch {
	case errors.Is(err, ErrNotFound):
		return badRequest(notFound)
	case errors.Is(err, errNotRenewable), errors.Is(err, errPastMaxTTL):
		return badRequest(err.Error())
	}
	return err
}

func (s *Store) handleLookup(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Token string `field:"token"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Token == "" {
		in.Token = req.ClientToken
	}
	return s.lookupResponse(ctx, in.Token)
}

func (s *Store) handleLookupSelf(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return s.lookupResponse(ctx, req.ClientToken)
}

// errBadToken is Vault's answer to a lookup of an unknown token.
var errBadToken = &logical.Error{Kind: logical.KindPermissionDenied, Messages: []string{"bad token"}}

func (s *Store) lookupResponse(ctx context.Context, id string) (*logical.Response, error) {
	if id == "" {
		return nil, badRequest("missing token ID")
	}
	e, err := s.lookup(ctx, id, true)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	}
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: s.lookupData(e)}, nil
}

// lookupData is e's lookup answer, with its identity policies if any.
func (s *Store) lookupData(e *Entry) map[string]any {
	d := e.lookupData(s.now())
	if s.opts.IdentityPolicies != nil && e.EntityID != "" {
		if p := s.opts.IdentityPolicies(e.EntityID); len(p) > 0 {
			d["identity_policies"] = p
		}
	}
	return d
}

func (s *Store) handleLookupAccessor(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Accessor string `field:"accessor"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Accessor == "" {
		return nil, badRequest("missing accessor")
	}
	e, err := s.LookupAccessor(ctx, in.Accessor)
	if err != nil {
		return nil, clientError(err, "invalid accessor")
	}
	return &logical.Response{Data: s.lookupData(e)}, nil
}

type renewInput struct {
	Token     string        `field:"token"`
	Accessor  string        `field:"accessor"`
	Increment time.Duration `field:"increment"`
}

func (s *Store) handleRenew(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in renewInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Token == "" {
		return nil, badRequest("missing token ID")
	}
	return s.renewByID(ctx, in.Token, in.Increment)
}

func (s *Store) handleRenewSelf(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in renewInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	return s.renewByID(ctx, req.ClientToken, in.Increment)
}

func (s *Store) renewByID(ctx context.Context, id string, increment time.Duration) (*logical.Response, error) {
	e, err := s.lookup(ctx, id, true)
	if err != nil {
		return nil, clientError(err, "token not found")
	}
	if e.Type == TypeBatch {
		return nil, badRequest("batch tokens cannot be renewed")
	}
	return s.renewResponse(ctx, s.key(id), increment, id)
}

func (s *Store) handleRenewAccessor(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in renewInput
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Accessor == "" {
		return nil, badRequest("missing accessor")
	}
	k, err := s.keyByAccessor(ctx, in.Accessor)
	if err != nil {
		return nil, clientError(err, "invalid accessor")
	}
	return s.renewResponse(ctx, k, in.Increment, "")
}

// renewResponse renews the token under k; id, when known, is echoed as
// client_token (Vault hides it for renew-accessor).
func (s *Store) renewResponse(ctx context.Context, k key, increment time.Duration, id string) (*logical.Response, error) {
	e, ttl, warnings, err := s.renew(ctx, k, increment)
	if err != nil {
		return nil, clientError(err, "token not found")
	}
	a := e.auth(ttl)
	a.ClientToken = id
	return &logical.Response{Auth: a, Warnings: warnings}, nil
}

func (s *Store) handleRevoke(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Token string `field:"token"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Token == "" {
		return nil, badRequest("missing token ID")
	}
	return s.revokeByID(ctx, in.Token)
}

func (s *Store) handleRevokeSelf(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	return s.revokeByID(ctx, req.ClientToken)
}

// revokeByID answers 204 for unknown tokens, as Vault does.
func (s *Store) revokeByID(ctx context.Context, id string) (*logical.Response, error) {
	err := s.Revoke(ctx, id)
	switch {
	case errors.Is(err, ErrBatchToken):
		if _, lerr := s.lookupBatch(ctx, id); lerr != nil {
			return nil, nil
		}
		return nil, badRequest("batch tokens cannot be revoked")
	case errors.Is(err, ErrNotFound):
		return nil, nil
	}
	return nil, err
}

func (s *Store) handleRevokeAccessor(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Accessor string `field:"accessor"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Accessor == "" {
		return nil, badRequest("missing accessor")
	}
	if err := s.RevokeAccessor(ctx, in.Accessor); err != nil {
		return nil, clientError(err, "invalid accessor")
	}
	return nil, nil
}

func (s *Store) handleRevokeOrphan(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	var in struct {
		Token string `field:"token"`
	}
	if err := req.Decode(&in); err != nil {
		return nil, err
	}
	if in.Token == "" {
		return nil, badRequest("missing token ID")
	}
	if !s.isSudo(ctx, req.Request) {
		return nil, badRequest("root or sudo privileges required to revoke and orphan")
	}
	e, err := s.lookup(ctx, in.Token, true)
	if errors.Is(err, ErrNotFound) {
		return nil, badRequest("token to revoke not found")
	}
	if err != nil {
		return nil, err
	}
	if e.Type == TypeBatch {
		return nil, badRequest("batch tokens cannot be revoked")
	}
	if err := s.revokeOrphan(ctx, s.key(in.Token)); err != nil {
		return nil, fmt.Errorf("revoke orphan: %w", err)
	}
	return nil, nil
}

func (s *Store) handleAccessors(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	keys, err := s.accessors(ctx)
	if err != nil {
		return nil, err
	}
	return &logical.Response{Data: map[string]any{"keys": keys}}, nil
}

func (s *Store) handleTidy(ctx context.Context, req *framework.Request) (*logical.Response, error) {
	if err := s.tidy(ctx); err != nil {
		return nil, fmt.Errorf("tidy tokens: %w", err)
	}
	return &logical.Response{
		StatusCode: 202,
		Warnings:   []string{"Tidy operation successfully started. Any information from the operation will be printed to Tresor's server logs."},
	}, nil
}
