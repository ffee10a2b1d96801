package framework

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tresorhq/tresor/internal/logical"
)

// testBackend echoes the decoded input of "role/{name}" and answers
// nothing on "config".
func testBackend(t *testing.T) *Backend {
	t.Helper()
	type roleIn struct {
		Name string `field:"name"`
		TTL  int    `field:"ttl"`
	}
	echo := func(_ context.Context, req *Request) (*logical.Response, error) {
		var in roleIn
		if err := req.Decode(&in); err != nil {
			return nil, err
		}
		return &logical.Response{Data: map[string]any{"name": in.Name, "ttl": in.TTL}}, nil
	}
	none := func(context.Context, *Request) (*logical.Response, error) { return nil, nil }
	b, err := New("A test backend.", []*Path{
		{
			Pattern:  "role/{name}",
			Synopsis: "Manage roles.",
			Fields:   map[string]*Field{"ttl": {Type: TypeInt, Required: true, Description: "Lifetime."}},
			Operations: map[logical.Operation]Handler{
				logical.ReadOperation:   echo,
				logical.UpdateOperation: echo,
				logical.CreateOperation: echo,
			},
			ExistenceCheck: func(_ context.Context, req *Request) (bool, error) {
				if req.Param("name") == "broken" {
					return false, errors.New("disk on fire")
				}
				return req.Param("name") == "web", nil
			},
		},
		{
			Pattern:            "config",
			Synopsis:           "Configure.",
			Description:        "Long text.",
			TakesArbitraryData: false,
			Operations:         map[logical.Operation]Handler{logical.UpdateOperation: none},
		},
		{
			Pattern:            "kv/{path...}",
			TakesArbitraryData: true,
			Operations:         map[logical.Operation]Handler{logical.UpdateOperation: none},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandleRequest(t *testing.T) {
	b := testBackend(t)
	tests := map[string]struct {
		op       logical.Operation
		path     string
		data     map[string]any
		wantErr  *logical.Error
		wantData map[string]any
		warnings []string
	}{
		"read decodes capture":        {op: logical.ReadOperation, path: "role/web", wantData: map[string]any{"name": "web", "ttl": 0}},
		"read does not need required": {op: logical.ReadOperation, path: "role/web", data: map[string]any{}, wantData: map[string]any{"name": "web", "ttl": 0}},
		"update decodes field":        {op: logical.UpdateOperation, path: "role/web", data: map[string]any{"ttl": "5"}, wantData: map[string]any{"name": "web", "ttl": 5}},
		"create needs required":       {op: logical.CreateOperation, path: "role/web", wantErr: &logical.Error{Kind: logical.KindInvalidRequest}},
		"bad type is 400":             {op: logical.UpdateOperation, path: "role/web", data: map[string]any{"ttl": "x"}, wantErr: &logical.Error{Kind: logical.KindInvalidRequest}},
		"unsupported operation":       {op: logical.DeleteOperation, path: "role/web", wantErr: logical.ErrUnsupportedOperation},
		"unsupported path":            {op: logical.ReadOperation, path: "nope", wantErr: logical.ErrUnsupportedPath},
		"unknown field warns": {
			op: logical.UpdateOperation, path: "role/web", data: map[string]any{"ttl": 1, "colour": "red", "b": 1},
			wantData: map[string]any{"name": "web", "ttl": 1},
			warnings: []string{"Endpoint ignored these unrecognized parameters: [b colour]"},
		},
		"warning makes a response": {
			op: logical.UpdateOperation, path: "config", data: map[string]any{"x": 1},
			warnings: []string{"Endpoint ignored these unrecognized parameters: [x]"},
		},
		"arbitrary data does not warn": {op: logical.UpdateOperation, path: "kv/a/b", data: map[string]any{"x": 1}},
	}
	for name, tc := range tests {
		resp, err := b.HandleRequest(context.Background(), &logical.Request{Operation: tc.op, Path: tc.path, Data: tc.data})
		if tc.wantErr != nil {
			e, ok := logical.AsError(err)
			if !ok || e.Kind != tc.wantErr.Kind || (tc.wantErr.Messages != nil && e.Error() != tc.wantErr.Error()) {
				t.Errorf("%s: err = %v, want %v", name, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var data map[string]any
		var warnings []string
		if resp != nil {
			data, warnings = resp.Data, resp.Warnings
		}
		if !reflect.DeepEqual(data, tc.wantData) || !reflect.DeepEqual(warnings, tc.warnings) {
			t.Errorf("%s: got data %v warnings %q, want %v %q", name, data, warnings, tc.wantData, tc.warnings)
		}
	}
}

func TestExistenceCheck(t *testing.T) {
	b := testBackend(t)
	tests := map[string]struct {
		path           string
		checked, exist bool
		err            bool
	}{
		"exists":             {path: "role/web", checked: true, exist: true},
		"does not exist":     {path: "role/db", checked: true, exist: false},
		"check fails":        {path: "role/broken", checked: true, err: true},
		"path without check": {path: "config"},
		"no such path":       {path: "nope"},
	}
	for name, tc := range tests {
		checked, exists, err := b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: tc.path})
		if checked != tc.checked || exists != tc.exist || (err != nil) != tc.err {
			t.Errorf("%s: got (%v, %v, %v), want (%v, %v, err=%v)", name, checked, exists, err, tc.checked, tc.exist, tc.err)
		}
	}
}

func TestHelp(t *testing.T) {
	b := testBackend(t)
	tests := map[string]struct {
		path string
		want []string
	}{
		"backend":     {"", []string{"A test backend.", "role/{name}", "Manage roles.", "config"}},
		"path fields": {"role/web", []string{"Matching Route: role/{name}", "Manage roles.", "ttl (int)", "Lifetime."}},
		"description": {"config", []string{"Configure.", "Long text."}},
		"no path":     {"nope", nil},
	}
	for name, tc := range tests {
		got := b.Help(tc.path)
		if tc.want == nil && got != "" {
			t.Errorf("%s: got %q, want nothing", name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: help lacks %q:\n%s", name, w, got)
			}
		}
	}
}

func TestNewRejects(t *testing.T) {
	tests := map[string][]*Path{
		"same shape":    {{Pattern: "a/{x}"}, {Pattern: "a/{x}"}},
		"untyped field": {{Pattern: "a", Fields: map[string]*Field{"f": {}}}},
		"bad pattern":   {{Pattern: "a/{x...}/b"}},
	}
	for name, paths := range tests {
		if _, err := New("", paths); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

// TestListTrailingSlash: a LIST path ends in "/" (the HTTP layer adds it);
// a list endpoint spelled without the slash still serves it, and a rest
// capture that lists keeps the slash.
func TestListTrailingSlash(t *testing.T) {
	saw := ""
	list := func(_ context.Context, req *Request) (*logical.Response, error) {
		saw = req.Request.Path
		return &logical.Response{Data: map[string]any{"keys": []string{"a"}}}, nil
	}
	b, err := New("", []*Path{
		{Pattern: "users", Operations: map[logical.Operation]Handler{logical.ListOperation: list}},
		{Pattern: "users/{name}", Operations: map[logical.Operation]Handler{logical.ReadOperation: list}},
		{Pattern: "meta/{path...}", Operations: map[logical.Operation]Handler{logical.ListOperation: list}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{"users/": "users", "users": "users", "meta/a/": "meta/a/", "meta/": "meta/"} {
		saw = ""
		if _, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ListOperation, Path: in}); err != nil {
			t.Fatalf("LIST %s: %v", in, err)
		}
		if saw != want {
			t.Errorf("LIST %s reached the handler as %q, want %q", in, saw, want)
		}
	}
	if _, err := b.HandleRequest(context.Background(), &logical.Request{Operation: logical.ListOperation, Path: "users/bob/"}); err == nil {
		t.Error("LIST of a path without a list endpoint succeeded")
	}
}

// TestExistenceCheckDecodesOnDemand: an existence check that reads only
// captures converts no field of the body; one that decodes gets the body's
// values, or the captures alone when the body does not convert.
func TestExistenceCheckDecodesOnDemand(t *testing.T) {
	conversions := 0
	type in struct {
		Name string `field:"name"`
		TTL  int    `field:"ttl"`
	}
	var got in
	b, err := New("", []*Path{
		{
			Pattern: "param/{name}",
			Fields:  map[string]*Field{"ttl": {Type: TypeInt, Validate: func(any) error { conversions++; return nil }}},
			ExistenceCheck: func(_ context.Context, req *Request) (bool, error) {
				return req.Param("name") == "a", nil
			},
			Operations: map[logical.Operation]Handler{logical.UpdateOperation: func(context.Context, *Request) (*logical.Response, error) { return nil, nil }},
		},
		{
			Pattern: "decode/{name}",
			Fields:  map[string]*Field{"ttl": {Type: TypeInt, Validate: func(any) error { conversions++; return nil }}},
			ExistenceCheck: func(_ context.Context, req *Request) (bool, error) {
				got = in{}
				if err := req.Decode(&got); err != nil {
					return false, err
				}
				return got.TTL > 0, nil
			},
			Operations: map[logical.Operation]Handler{logical.UpdateOperation: func(context.Context, *Request) (*logical.Response, error) { return nil, nil }},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(path string, data map[string]any) bool {
		t.Helper()
		checked, exists, err := b.ExistenceCheck(context.Background(), &logical.Request{Operation: logical.UpdateOperation, Path: path, Data: data})
		if !checked || err != nil {
			t.Fatalf("%s: checked %v, %v", path, checked, err)
		}
		return exists
	}
	if !check("param/a", map[string]any{"ttl": 5}) || conversions != 0 {
		t.Errorf("a check on captures converted the body %d times", conversions)
	}
	if !check("decode/x", map[string]any{"ttl": 5}) || conversions != 1 || got != (in{Name: "x", TTL: 5}) {
		t.Errorf("decoding check: %d conversions, got %+v", conversions, got)
	}
	if check("decode/y", map[string]any{"ttl": "not a number"}) || got != (in{Name: "y"}) {
		t.Errorf("a body that does not convert: got %+v, want the captures alone", got)
	}
}
