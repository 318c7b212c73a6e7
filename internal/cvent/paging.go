package cvent

import (
	"context"
	"errors"
	"iter"
	"net/url"
)

// Paging is Cvent's paging envelope.
type Paging struct {
	CurrentToken  string `json:"currentToken,omitempty"`
	NextToken     string `json:"nextToken,omitempty"`
	PreviousToken string `json:"previousToken,omitempty"`
	Limit         int    `json:"limit,omitempty"`
	TotalCount    int    `json:"totalCount,omitempty"`
}

type page[T any] struct {
	Paging Paging `json:"paging"`
	Data   []T    `json:"data"`
}

// ErrTokenNotAdvancing is returned when Cvent hands back a page token it
// already gave: following it would loop for ever.
var ErrTokenNotAdvancing = errors.New("cvent: paging token does not advance")

// Pager walks a list endpoint page by page.
type Pager[T any] struct {
	c      *Client
	path   string
	query  url.Values
	filter string // for the POST .../filter twin
	next   string
	seen   map[string]bool
	done   bool
	// TotalCount is Cvent's count of all records, known after the first page.
	TotalCount int
	// Token is the token of the next page ("" after the last); store it to resume later.
	Token string
}

func newPager[T any](c *Client, path string, query url.Values, startToken string) *Pager[T] {
	if query == nil {
		query = url.Values{}
	}
	return &Pager[T]{c: c, path: path, query: query, next: startToken, Token: startToken, seen: map[string]bool{}}
}

// longFilter is where Cvent wants the POST .../filter twin instead of a query string.
const longFilter = 1500

// Next returns the next page; ok is false after the last one. An empty page
// can come before the end: Next keeps going while Cvent gives a next token.
func (p *Pager[T]) Next(ctx context.Context) (items []T, ok bool, err error) {
	for !p.done {
		q := url.Values{}
		for k, v := range p.query {
			q[k] = v
		}
		if p.next != "" {
			q.Set("token", p.next)
		}
		var pg page[T]
		if f := q.Get("filter"); len(f) > longFilter {
			q.Del("filter")
			_, err = p.c.do(ctx, "POST", p.path+"/filter", q, map[string]string{"filter": f}, &pg)
		} else {
			_, err = p.c.do(ctx, "GET", p.path, q, nil, &pg)
		}
		if err != nil {
			return nil, false, err
		}
		if pg.Paging.TotalCount > 0 {
			p.TotalCount = pg.Paging.TotalCount
		}
		if p.next != "" {
			p.seen[p.next] = true
		}
		switch {
		case pg.Paging.NextToken == "":
			p.done = true
		case p.seen[pg.Paging.NextToken] || pg.Paging.NextToken == pg.Paging.CurrentToken && pg.Paging.CurrentToken != "":
			p.done = true
			return nil, false, ErrTokenNotAdvancing
		default:
			p.next = pg.Paging.NextToken
		}
		if p.done {
			p.Token = ""
		} else {
			p.Token = p.next
		}
		if len(pg.Data) > 0 {
			return pg.Data, true, nil
		}
	}
	return nil, false, nil
}

// All iterates every record of every page.
func (p *Pager[T]) All(ctx context.Context) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			items, ok, err := p.Next(ctx)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			if !ok {
				return
			}
			for _, it := range items {
				if !yield(it, nil) {
					return
				}
			}
		}
	}
}
