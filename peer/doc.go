// Package peer is a synthetic threeway party: it joins a call through the
// server's WebSocket /ws exactly as a browser would, sends a recognisable
// picture and tone, and analyses what the server sends back.
//
// What it sends lets a receiver tell who is where and how late:
//
//   - Video: a frame filled with the role's colour (RoleColor) carrying a
//     block code with the frame number (DrawPattern), so that a viewer can
//     find each party's tile by colour (FindTiles) and read which frame it
//     shows (ReadFrameNumber). SentAt and ReceivedAt give the two ends of
//     the latency measurement.
//   - Audio: a sine tone at a frequency unique to the role (ToneHz), so the
//     level of each party in the mix can be measured (Goertzel) and a
//     listener can check that its own voice is absent.
//
// Peer imports nothing of threeway except the codec package, so the end to
// end tests exercise the server only through its public protocol
// (signaling/PROTOCOL.md).
package peer
