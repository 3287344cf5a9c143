package spicedb

import (
	"context"
	"time"

	v1 "github.com/authzed/authzed-go/proto/authzed/api/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// hedgeAfter is how long a check waits for its node before the same check
// goes to the next one as well ("The Tail at Scale"'s hedged request).
// Checks answer in milliseconds; a node that has not answered in this long
// is most likely dead without having closed its connections (SIGKILL, a
// lost machine), which no health check notices until TCP gives up.
const hedgeAfter = 750 * time.Millisecond

// hedgedMethods are the calls hedging may repeat: reads with one answer.
var hedgedMethods = map[string]bool{
	v1.PermissionsService_CheckPermission_FullMethodName:      true,
	v1.PermissionsService_CheckBulkPermissions_FullMethodName: true,
}

// hedged sends a check that has not been answered within after again (the
// connection's round-robin picks the next node), up to attempts times in
// all, and keeps the first answer; the others are cancelled when it
// returns. A node that answers Unavailable has the check go to the next
// one at once. Other errors are answers: the first one stands once no
// attempt is under way. The call's own deadline (deadlines) bounds them all.
func hedged(after time.Duration, attempts int) grpc.DialOption {
	return grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		out, ok := reply.(proto.Message)
		if !hedgedMethods[method] || !ok {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		type answer struct {
			reply proto.Message
			err   error
		}
		answers := make(chan answer, attempts)
		send := func() {
			r := out.ProtoReflect().New().Interface()
			answers <- answer{r, invoker(ctx, method, req, r, cc, opts...)}
		}
		go send()
		sent, failed := 1, 0
		timer := time.NewTimer(after)
		defer timer.Stop()
		var last error
		for {
			select {
			case a := <-answers:
				if a.err == nil {
					proto.Reset(out)
					proto.Merge(out, a.reply)
					return nil
				}
				failed, last = failed+1, a.err
				// A node that refused (Unavailable) is tried no further:
				// the next one is asked at once. Any other error is the
				// answer, once no attempt is left under way.
				if status.Code(a.err) == codes.Unavailable && sent < attempts && ctx.Err() == nil {
					if failed == sent {
						sent++
						go send()
						timer.Reset(after)
					}
					continue
				}
				if failed == sent {
					return last
				}
			case <-timer.C:
				if sent < attempts {
					sent++
					go send()
					timer.Reset(after)
				}
			}
		}
	})
}
