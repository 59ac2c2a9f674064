// An apid-like gRPC server on grpc-go, serving a few MachineService methods with
// Talos's own generated API types over mutual TLS. The conformance tests connect
// the TypeScript client to it, so that the client meets the real Go gRPC stack
// (its HTTP/2 framing, metadata parsing, deadlines and flow control) and not a
// server written for the client.
//
// Usage: apid -cert server.crt -key server.key -ca ca.crt
//
// It listens on 127.0.0.1:0 and reports on stdout, one JSON object a line:
// {"event":"listening","port":N} first, then one line per call received
// (method and the node/nodes metadata values as grpc-go parsed them) and one
// line per server stream that ends (method, stream id, why it ended).
package main

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/siderolabs/talos/pkg/machinery/api/common"
	"github.com/siderolabs/talos/pkg/machinery/api/machine"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"
)

var (
	outMu    sync.Mutex
	streamID atomic.Int64
)

// report writes one JSON line on stdout.
func report(v map[string]any) {
	b, err := json.Marshal(v)
	if err != nil {
		log.Fatal(err)
	}

	outMu.Lock()
	defer outMu.Unlock()

	os.Stdout.Write(append(b, '\n')) //nolint:errcheck
}

// The tag this server claims to run.
const tag = "v1.14.1"

type server struct {
	machine.UnimplementedMachineServiceServer
}

// incoming returns the values of a metadata key as grpc-go parsed them.
func incoming(ctx context.Context, key string) []string {
	md, _ := metadata.FromIncomingContext(ctx)

	return md.Get(key)
}

// targets are the hostnames responses are attributed to: each `nodes` value
// (apid's one-to-many proxying), else the single `node` value, else none.
func targets(ctx context.Context) []string {
	if nodes := incoming(ctx, "nodes"); len(nodes) > 0 {
		return nodes
	}

	if node := incoming(ctx, "node"); len(node) == 1 {
		return node
	}

	return []string{""}
}

func meta(host string) *common.Metadata {
	if host == "" {
		return nil
	}

	return &common.Metadata{Hostname: host}
}

func (s *server) Version(ctx context.Context, _ *emptypb.Empty) (*machine.VersionResponse, error) {
	resp := &machine.VersionResponse{}

	for _, host := range targets(ctx) {
		resp.Messages = append(resp.Messages, &machine.Version{
			Metadata: meta(host),
			Version:  &machine.VersionInfo{Tag: tag, Arch: "amd64", GoVersion: "go1.26"},
		})
	}

	return resp, nil
}

func (s *server) Hostname(ctx context.Context, _ *emptypb.Empty) (*machine.HostnameResponse, error) {
	resp := &machine.HostnameResponse{}

	for _, host := range targets(ctx) {
		name := "talos-" + strings.ReplaceAll(host, ".", "-")
		resp.Messages = append(resp.Messages, &machine.Hostname{Metadata: meta(host), Hostname: name})
	}

	return resp, nil
}

// Memory answers only when the call ends: it reports the deadline grpc-go
// derived from the call's grpc-timeout and how the call's context ended.
func (s *server) Memory(ctx context.Context, _ *emptypb.Empty) (*machine.MemoryResponse, error) {
	started := time.Now()
	deadline, hasDeadline := ctx.Deadline()

	line := map[string]any{"event": "ended", "method": "Memory", "hasDeadline": hasDeadline}
	if hasDeadline {
		line["timeoutMs"] = deadline.Sub(started).Milliseconds()
	}

	<-ctx.Done()

	line["reason"] = ctx.Err().Error()
	line["afterMs"] = time.Since(started).Milliseconds()
	report(line)

	return nil, status.FromContextError(ctx.Err()).Err()
}

// ServiceRestart fails as machined and apid do, chosen by the service id.
func (s *server) ServiceRestart(_ context.Context, req *machine.ServiceRestartRequest) (*machine.ServiceRestartResponse, error) {
	switch req.GetId() {
	case "denied":
		return nil, status.Error(codes.PermissionDenied, "not authorized")
	case "unimplemented":
		return nil, status.Error(codes.Unimplemented, "service restart is not supported in container mode")
	case "invalid":
		return nil, status.Errorf(codes.InvalidArgument, "service %q not found", req.GetId())
	}

	return nil, status.Errorf(codes.NotFound, "service %q not found", req.GetId())
}

// streamEnded reports how a server stream ended.
func streamEnded(method string, id int64, sent int, err error) {
	line := map[string]any{"event": "ended", "method": method, "stream": id, "sent": sent}
	if err != nil {
		line["reason"] = err.Error()
	}

	report(line)
}

// Logs sends numbered lines, one every few milliseconds, until the client
// cancels (follow) or tailLines lines went out (no follow).
func (s *server) Logs(req *machine.LogsRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	ctx := srv.Context()
	id := streamID.Add(1)
	started := map[string]any{"event": "started", "method": "Logs", "stream": id}
	deadline, hasDeadline := ctx.Deadline()
	started["hasDeadline"] = hasDeadline

	if hasDeadline {
		started["timeoutMs"] = time.Until(deadline).Milliseconds()
	}

	report(started)

	ticker := time.NewTicker(5 * time.Millisecond)
	defer ticker.Stop()

	for sent := 0; ; {
		if !req.GetFollow() && sent >= int(req.GetTailLines()) {
			streamEnded("Logs", id, sent, nil)

			return nil
		}

		line := fmt.Sprintf("%s line %d\n", req.GetId(), sent)
		if err := srv.Send(&common.Data{Bytes: []byte(line)}); err != nil {
			streamEnded("Logs", id, sent, err)

			return err
		}

		sent++

		select {
		case <-ctx.Done():
			streamEnded("Logs", id, sent, ctx.Err())

			return status.FromContextError(ctx.Err()).Err()
		case <-ticker.C:
		}
	}
}

// Read serves a file of pseudo-random bytes: the path names its size
// ("/big/<bytes>"); the chunk sizes vary. Its SHA-256 is reported at the end.
func (s *server) Read(req *machine.ReadRequest, srv grpc.ServerStreamingServer[common.Data]) error {
	id := streamID.Add(1)

	sizeText, ok := strings.CutPrefix(req.GetPath(), "/big/")
	size, err := strconv.Atoi(sizeText)

	if !ok || err != nil || size < 0 {
		return status.Errorf(codes.NotFound, "open %s: no such file or directory", req.GetPath())
	}

	rng := rand.New(rand.NewPCG(uint64(size), 42)) //nolint:gosec
	h := sha256.New()
	buf := make([]byte, 1<<20)

	for sent := 0; sent < size; {
		n := min(size-sent, 4096+rng.IntN(len(buf)-4096))
		chunk := buf[:n]

		for i := 0; i < n; i += 8 {
			var word [8]byte
			binary.LittleEndian.PutUint64(word[:], rng.Uint64())
			copy(chunk[i:], word[:])
		}

		h.Write(chunk)

		if err := srv.Send(&common.Data{Bytes: chunk}); err != nil {
			streamEnded("Read", id, sent, err)

			return err
		}

		sent += n
	}

	report(map[string]any{"event": "ended", "method": "Read", "stream": id, "sent": size, "sha256": hex.EncodeToString(h.Sum(nil))})

	return nil
}

// Events sends the empty hello machined sends first, then `tailEvents` sequence
// and phase events, then waits for the client to leave.
func (s *server) Events(req *machine.EventsRequest, srv grpc.ServerStreamingServer[machine.Event]) error {
	ctx := srv.Context()
	id := streamID.Add(1)
	host := targets(ctx)[0]

	if err := srv.Send(&machine.Event{Metadata: meta(host), Id: fmt.Sprintf("hello-%d", id), Data: &anypb.Any{}}); err != nil {
		streamEnded("Events", id, 0, err)

		return err
	}

	for i := range int(req.GetTailEvents()) {
		var payload proto.Message = &machine.SequenceEvent{Sequence: "boot", Action: machine.SequenceEvent_START}
		if i%2 == 1 {
			payload = &machine.PhaseEvent{Phase: fmt.Sprintf("phase-%d", i), Action: machine.PhaseEvent_STOP}
		}

		value, err := proto.Marshal(payload)
		if err != nil {
			return status.Error(codes.Internal, err.Error())
		}

		ev := &machine.Event{
			Metadata: meta(host),
			Id:       fmt.Sprintf("ev-%d-%d", id, i),
			ActorId:  "actor",
			Data:     &anypb.Any{TypeUrl: "talos/runtime/" + string(payload.ProtoReflect().Descriptor().FullName()), Value: value},
		}

		if err := srv.Send(ev); err != nil {
			streamEnded("Events", id, i+1, err)

			return err
		}
	}

	<-ctx.Done()
	streamEnded("Events", id, int(req.GetTailEvents())+1, ctx.Err())

	return status.FromContextError(ctx.Err()).Err()
}

// checkMetadata rejects what apid's director rejects, and reports each call.
func checkMetadata(ctx context.Context, method string) error {
	node, nodes := incoming(ctx, "node"), incoming(ctx, "nodes")
	report(map[string]any{"event": "call", "method": method, "node": node, "nodes": nodes})

	if len(node) > 1 {
		return status.Error(codes.InvalidArgument, "node metadata must be single-valued")
	}

	if len(node) == 1 && len(nodes) > 0 {
		return status.Error(codes.InvalidArgument, "node and nodes metadata are mutually exclusive")
	}

	return nil
}

func main() {
	certFile := flag.String("cert", "", "server certificate, PEM")
	keyFile := flag.String("key", "", "server key, PEM")
	caFile := flag.String("ca", "", "CA of client certificates, PEM")

	flag.Parse()

	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}

	caPEM, err := os.ReadFile(*caFile)
	if err != nil {
		log.Fatal(err)
	}

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		log.Fatal("no certificate in the CA file")
	}

	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	})

	srv := grpc.NewServer(
		grpc.Creds(creds),
		grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			if err := checkMetadata(ctx, info.FullMethod); err != nil {
				return nil, err
			}

			return handler(ctx, req)
		}),
		grpc.StreamInterceptor(func(s any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			if err := checkMetadata(ss.Context(), info.FullMethod); err != nil {
				return err
			}

			return handler(s, ss)
		}),
	)
	machine.RegisterMachineServiceServer(srv, &server{})

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}

	report(map[string]any{"event": "listening", "port": lis.Addr().(*net.TCPAddr).Port})

	// The test ends the server by closing its stdin.
	go func() {
		buf := make([]byte, 64)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				srv.Stop()

				return
			}
		}
	}()

	if err := srv.Serve(lis); err != nil {
		log.Fatal(err)
	}
}
