package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cventsync/cventsync/internal/config"
	"github.com/cventsync/cventsync/internal/payloadcodec"
)

// newCodecServerCmd serves the remote codec the Temporal Web UI (and the
// temporal CLI's --codec-endpoint) call to show encrypted payloads decoded.
func newCodecServerCmd(cfg *config.Config) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "codec-server",
		Short: "Serve /decode and /encode for the Temporal Web UI, so operators see encrypted payloads decoded",
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := codecHandler(cfg)
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", cfg.CodecAddr)
			if err != nil {
				return fmt.Errorf("codec server: %w", err)
			}
			srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute}
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			cfg.Logger().Info("codec server running", "addr", ln.Addr().String(), "origins", cfg.CodecOrigins)
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("codec server: %w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.CodecAddr, "addr", cfg.CodecAddr, "listen address (CVENTSYNC_CODEC_ADDR)")
	f.StringVar(&cfg.CodecOrigins, "origins", cfg.CodecOrigins, "comma-separated Web UI origins allowed by CORS (CVENTSYNC_CODEC_ORIGINS)")
	return cmd
}

// codecHandler builds the codec server's handler from the configuration:
// the payload keys, the allowed origins and the token callers must present.
func codecHandler(cfg *config.Config) (http.Handler, error) {
	keys, err := payloadcodec.ParseKeys(cfg.PayloadKeys)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("codec server: CVENTSYNC_PAYLOAD_KEYS is not set: there is nothing to decode")
	}
	codec, err := payloadcodec.New(keys)
	if err != nil {
		return nil, err
	}
	token := cfg.CodecToken
	if token == "" {
		token = cfg.AdminToken
	}
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("codec server: set CVENTSYNC_CODEC_TOKEN or CVENTSYNC_ADMIN_TOKEN: the endpoint decrypts personal data and needs authenticated callers")
	}
	var origins []string
	for _, o := range strings.Split(cfg.CodecOrigins, ",") {
		o = strings.TrimSpace(o)
		if o == "*" {
			return nil, errors.New("codec server: CVENTSYNC_CODEC_ORIGINS must list origins, not *")
		}
		if o != "" {
			origins = append(origins, o)
		}
	}
	return payloadcodec.NewHandler(codec, payloadcodec.HandlerOptions{Origins: origins, Token: token}), nil
}
