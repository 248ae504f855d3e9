package benchmark

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// clusterReplicas are the stream replica counts the cluster leg measures.
var clusterReplicas = [...]int{1, 3} //nolint:gochecknoglobals // a constant list

// ingestClusterLeg measures /v1/batch on a stateless ingest node that
// answers once JetStream acknowledged every event (tact serve --role
// ingest, docs/scale-out.md), with the stream on one node (R1) and on
// three routed nodes (R3), all on this machine, beside the single process
// (tact serve on an empty database) measured in the same run at the same
// client counts. The engine that consumes the stream runs elsewhere in a
// cluster and is not part of an ingest node's answer, so none runs here.
func (r *runner) ingestClusterLeg(ctx context.Context) (Leg, error) {
	leg := Leg{Leg: LegIngestCluster}
	dir := filepath.Dir(r.scratch("ingest-cluster", "tact.duckdb"))
	defer os.RemoveAll(dir)
	users := make([]string, 1000)
	for i := range users {
		users[i] = fmt.Sprintf("bench-user-%d", i)
	}
	cfg := filepath.Join(dir, "single.yaml")
	if err := os.WriteFile(cfg, []byte(ingestConfig), 0o600); err != nil {
		return leg, err
	}
	for _, clients := range r.o.IngestClients {
		name := fmt.Sprintf("/v1/batch, %d clients × %d events per request", clients, eventsPerRequest)
		l := load{writeKey: ingestWriteKey, clients: clients, duration: r.o.IngestDuration, requests: r.o.IngestRequests, userIDs: users}
		db := filepath.Join(dir, fmt.Sprintf("single-%d.duckdb", clients))
		single, err := r.measureServer(ctx, label("ingest-cluster", name, "single process"), l, "tact serve /v1/batch, one process, empty database", func(addr string) *exec.Cmd {
			cmd := r.l.command(ctx, []string{"--db", db, "--config", cfg, "serve", "--addr", addr, "--out", filepath.Join(dir, "outbox")},
				"TACT_WRITE_KEY="+ingestWriteKey)
			cmd.Dir = dir
			return cmd
		})
		removeDB(db)
		if err != nil {
			return leg, err
		}
		for _, replicas := range clusterReplicas {
			side, err := r.measureCluster(ctx, dir, name, l, replicas)
			if err != nil {
				return leg, err
			}
			leg.Cases = append(leg.Cases, newCase(fmt.Sprintf("%s, stream R%d", name, replicas), side, single))
		}
	}
	return leg, nil
}

// measureCluster starts replicas NATS nodes (tact serve --role nats) and
// an ingest node, runs the load against the ingest node once it is ready
// and stops them all.
func (r *runner) measureCluster(ctx context.Context, dir, name string, l load, replicas int) (Side, error) {
	// The nodes' addresses are chosen together, before any node starts, so
	// a node that could not bind its own means choosing them all again.
	var nodes []*serverProc
	var cfg0 string
	var err error
	for range startAttempts {
		if nodes, cfg0, err = r.startNATS(ctx, dir, replicas); !errors.Is(err, errExitedEarly) {
			break
		}
	}
	if err != nil {
		return Side{}, err
	}
	defer func() {
		for _, n := range nodes {
			_, _ = n.stop(ctx)
		}
		for i := range replicas {
			_ = os.RemoveAll(natsStoreDir(dir, replicas, i))
		}
	}()
	what := fmt.Sprintf("tact serve --role ingest, answered after JetStream acks (stream R%d on this machine)", replicas)
	l.ready = "/readyz"
	return r.measureServer(ctx, label("ingest-cluster", name, fmt.Sprintf("R%d", replicas)), l, what, func(addr string) *exec.Cmd {
		return r.l.command(ctx, []string{"--config", cfg0, "serve", "--role", "ingest", "--addr", addr}, "TACT_WRITE_KEY="+ingestWriteKey)
	})
}

// startNATS starts replicas NATS nodes on addresses free right now, routed
// to each other when there are several, and returns them with the first
// node's configuration (the ingest node's). If one fails to start, those
// started are stopped and their stores removed.
func (r *runner) startNATS(ctx context.Context, dir string, replicas int) (nodes []*serverProc, cfg0 string, err error) {
	defer func() {
		if err != nil {
			for _, n := range nodes {
				_, _ = n.stop(ctx)
			}
			for i := range replicas {
				_ = os.RemoveAll(natsStoreDir(dir, replicas, i))
			}
		}
	}()
	addrs := make([]string, 0, 2*replicas)
	for range 2 * replicas {
		a, err := freeAddr()
		if err != nil {
			return nodes, "", err
		}
		addrs = append(addrs, a)
	}
	clients, routes := addrs[:replicas], addrs[replicas:]
	var urls, routeURLs []string
	for i := range replicas {
		urls = append(urls, "nats://"+clients[i])
		routeURLs = append(routeURLs, "nats-route://"+routes[i])
	}
	for i := range replicas {
		var server strings.Builder
		fmt.Fprintf(&server, "    name: bench-%d\n    listen: %s\n    store_dir: %s\n", i, clients[i], natsStoreDir(dir, replicas, i))
		if replicas > 1 {
			fmt.Fprintf(&server, "    cluster_listen: %s\n    routes: [%s]\n", routes[i], strings.Join(routeURLs, ", "))
		}
		yaml := fmt.Sprintf("cluster:\n  urls: [%s]\n  replicas: %d\n  server:\n%s%s", strings.Join(urls, ", "), replicas, server.String(), ingestConfig)
		path := filepath.Join(dir, fmt.Sprintf("nats-r%d-%d.yaml", replicas, i))
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			return nodes, "", err
		}
		if i == 0 {
			cfg0 = path
		}
		health, err := freeAddr()
		if err != nil {
			return nodes, "", err
		}
		n, err := startServer(r.l.command(ctx, []string{"--config", path, "serve", "--role", "nats", "--addr", health}), health)
		if err != nil {
			return nodes, "", err
		}
		nodes = append(nodes, n)
	}
	return nodes, cfg0, nil
}

// natsStoreDir is node i's JetStream store of a run with replicas nodes.
func natsStoreDir(dir string, replicas, i int) string {
	return filepath.Join(dir, fmt.Sprintf("js-r%d-%d", replicas, i))
}

// waitReady polls url until it answers 200 (an ingest node is ready once
// the stream has a leader).
func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready after %s", url, readyTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
