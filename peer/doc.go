// Package peer is a synthetic threeway party: it talks to the server's
// WebSocket /ws exactly as a browser would, sends a recognisable picture
// and tone, and analyses what the server sends back.
//
// What it sends lets a receiver tell who is where and how late:
//
//   - Video: a frame filled with the role's colour (RoleColor) carrying a
//     block code with the frame number (DrawPattern), so that a viewer can
//     find each party's tile by colour (FindTiles) and read which frame it
//     shows (ReadFrameNumber). SentAt and ReceivedAt give the two ends of
//     the latency measurement. A screen share (StartShare) is a second
//     video track with the same code on its own colour, reported under
//     ScreenKey.
//   - Audio: a sine tone at a frequency unique to the role (ToneHz), so the
//     level of each party in the mix can be measured (Goertzel) and a
//     listener can check that its own voice is absent.
//
// It is cheap enough to load a server with, so that a load test measures
// the server and not itself:
//
//   - Senders replay loops encoded once per process: each pattern (per
//     size, frame rate and bitrate) as 20 s of VP8 with frame numbers
//     0..n-1 and a key frame every 5 s (a key frame request jumps to the
//     next one), each tone as one second of Opus. SentAt is when a frame
//     was last written to the track; a number comes back once per loop.
//   - Viewers whose composed streams are byte-identical from a key frame on
//     (the viewers of one shared view) decode and analyse each picture
//     once between them, each keeping its own arrival times and counts.
//   - Received audio is decoded when its tone levels are asked for
//     (Stats), not as it arrives; Counters skips them altogether.
//
// A Peer is either a party from the start (Join) or an agent console
// (Connect, SignIn) that becomes the third party when it accepts a help
// offer (Accept, or Config.AutoAccept). Either way the media of a leg
// starts when the server sends `joined` and ends when it sends `left`;
// the socket stays, so a console can help again. The call controls a
// browser page has are methods too (SetVideo, SetAudio, StartShare,
// StopShare); everything else is a Send, and WaitFor waits for the
// server's reaction.
//
// # Parts
//
// A Peer is a facade over parts that each own their state:
//
//   - The signaling client (signalClient): the WebSocket, the log of the
//     server's messages, and the waits on it (WaitFor, and the waits of
//     Join, Accept, SignIn, StartShare, StopShare). With Config.Reconnect
//     a socket that drops is dialled again and the seat taken back
//     (reconnect.go); the log goes on across sockets.
//   - The media leg (leg): one PeerConnection with its network (a
//     netcond.Net with the party's conditions, its ICE socket and its
//     ICE-TCP forwarders), senders, receivers and negotiation, from a
//     `joined` to a `left`. The Peer itself only knows which legs there
//     are.
//   - The analysers (analyser, with its listener): a leg's counters,
//     tiles, latency stamps and received audio, which Stats, Counters,
//     SentAt and ReceivedAt read.
//
// # Threads and locks
//
// The signaling client's read loop is the only goroutine that reads the
// socket and the only one that starts legs; it acts on each message
// before logging it, so a waiter that sees a message knows it was acted
// on. Each leg runs a send loop per sent track, an RTCP reader per
// sender and a receive loop per received track, and pion calls the leg
// back (connection state, candidates, tracks) on goroutines of its own.
// Only brief work runs there (a candidate is sent, a receive loop
// spawned); connection states are handled on a task, one at a time and
// in order, since "connected" starts the senders and may first encode
// their loops. Every goroutine the peer starts is one of its tasks, which
// Close waits for, and Close ends the leg's context first, which stops a
// loop's encode. Waits run on the caller's goroutine and are woken by the
// notifier on every change.
//
// Each part's lock is documented on its type and held only briefly, but
// for two that are taken before any other: a leg's negotiation lock, held
// across pion's calls and the offer's send, and its listener's, held
// while decoding audio.
//
// # Networks
//
// Each leg's sockets cross a netcond.Net, so a party can be given a poor
// network (Config.Network, SetNetwork): loss, delay and jitter, a
// bandwidth cap, outages, blocked UDP, each way, from the leg's start.
// Drop, SetInboundLoss and SetOutboundLoss are conditions of the same
// Net. Besides its UDP socket a leg offers active ICE-TCP, as a browser
// does, so a party whose UDP is blocked connects over TCP to a server
// that has it: pion dials TCP outside the Net, so the server's passive
// candidates are pointed at forwarders through it. What the network did
// shows in Stats: freezes of the picture and of each tile, concealed
// audio, NACKs, PLIs and retransmissions.
//
// Peer imports nothing of threeway except the codec package and its own
// netcond, so the end to end tests exercise the server only through its
// public protocol (signaling/PROTOCOL.md).
package peer
