package graph

import (
	"errors"

	"github.com/channelgraph/channelgraph/graph/model"
	"github.com/channelgraph/channelgraph/internal/domain"
)

// payloadErrors splits a mutation's error: business-rule refusals become the
// payload's userErrors; anything else stays a request error. errors.As, not
// a type assertion, so a service may wrap a refusal and it is still one.
func payloadErrors(err error) ([]*model.UserError, error) {
	if err == nil {
		return []*model.UserError{}, nil
	}
	var e *domain.Error
	if !errors.As(err, &e) || !domain.IsBusinessRule(e) {
		return nil, err
	}
	faults := domain.Faults{e}
	errors.As(err, &faults)
	out := make([]*model.UserError, len(faults))
	for i, e := range faults {
		out[i] = &model.UserError{Message: e.Message, Code: string(e.Code)}
		if e.Field != "" {
			out[i].Field = &e.Field
		}
	}
	return out, nil
}

// orNull turns NOT_FOUND into a null result: a lookup of something missing
// or hidden answers null, never an error that could reveal it (SPEC §1.4).
func orNull[T any](v *T, err error) (*T, error) {
	if domain.ErrorCode(err) == domain.CodeNotFound {
		return nil, nil
	}
	return v, err
}

func edgePayload(change func() (*domain.ChannelEdge, error)) (*model.ChannelEdgePayload, error) {
	edge, err := change()
	userErrors, err := payloadErrors(err)
	return &model.ChannelEdgePayload{ChannelEdge: edge, UserErrors: userErrors}, err
}
