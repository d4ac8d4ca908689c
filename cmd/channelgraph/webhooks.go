package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/channelgraph/channelgraph/internal/server"
)

// webhooksFromEnv reads the webhook settings: where endpoints may point and
// how deliveries are attempted, retried and leased (docs/webhooks.md).
func webhooksFromEnv(cfg *server.WebhookConfig) error {
	switch v := env("CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE", "0"); v {
	case "0":
	case "1":
		cfg.AllowPrivate = true
	default:
		return fmt.Errorf("CHANNELGRAPH_WEBHOOK_ALLOW_PRIVATE must be 0 or 1, not %q", v)
	}
	durations := []struct {
		name string
		to   *time.Duration
	}{
		{"CHANNELGRAPH_WEBHOOK_TIMEOUT", &cfg.Delivery.Timeout},
		{"CHANNELGRAPH_WEBHOOK_FIRST_RETRY", &cfg.Delivery.FirstRetry},
		{"CHANNELGRAPH_WEBHOOK_MAX_RETRY", &cfg.Delivery.MaxRetry},
		{"CHANNELGRAPH_WEBHOOK_LEASE", &cfg.Delivery.LeaseTTL},
	}
	for _, d := range durations {
		if v := env(d.name, ""); v != "" {
			parsed, err := time.ParseDuration(v)
			if err != nil || parsed <= 0 {
				return fmt.Errorf("%s must be a positive duration such as 10s, not %q", d.name, v)
			}
			*d.to = parsed
		}
	}
	if v := env("CHANNELGRAPH_WEBHOOK_DISABLE_AFTER", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("CHANNELGRAPH_WEBHOOK_DISABLE_AFTER must be a number of failed attempts, 1 or more, not %q", v)
		}
		cfg.Delivery.DisableAfter = n
	}
	return nil
}
