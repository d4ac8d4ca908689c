package domain

import (
	"errors"
	"fmt"
)

// Code classifies an Error. The GraphQL layer maps each code to
// extensions.code (request errors) or to userErrors.code (business rules).
type Code string

const (
	CodeUnauthenticated Code = "UNAUTHENTICATED"
	CodeForbidden       Code = "FORBIDDEN"
	CodeNotFound        Code = "NOT_FOUND"
	CodeInvalid         Code = "BAD_USER_INPUT"
	CodeConflict        Code = "CONFLICT"
	CodeRateLimited     Code = "RATE_LIMITED"
	CodeInternal        Code = "INTERNAL"
)

// Error is the error domain packages return for anything a client caused or
// may be told about. Field names the input field at fault, when one is.
type Error struct {
	Code    Code
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf builds an Error that names the input field at fault.
func FieldErrorf(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err, CodeInternal for errors that are not a
// domain Error (those are never shown to clients).
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsBusinessRule reports whether err is a refusal a mutation reports in its
// payload's userErrors rather than as a request error.
func IsBusinessRule(err error) bool {
	switch ErrorCode(err) {
	case CodeInvalid, CodeConflict,
		CodeWindowClosed, CodeBelowAssigned, CodeRoleNotAllowed, CodeNotPartnerOfRecord, CodeVersionConflict:
		return true
	}
	return false
}

// NotFound is the one answer for anything missing or hidden from the viewer:
// it never says which, so errors cannot reveal hidden objects.
func NotFound(what string) *Error {
	return Errorf(CodeNotFound, "%s not found", what)
}
