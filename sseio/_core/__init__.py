"""sseio._core: the sans-IO event-stream core, pure and standard library only.

Bytes in, events out: ``lines`` splits bytes into lines (CR, LF, CRLF, a CR
at a chunk's end ending the line at once), ``fields`` applies the WHATWG field
rules and the ``[DONE]`` sentinel to lines, ``decoder`` joins the two with a
fast path for LF-only streams, ``encoder`` writes events, ``events`` holds the
immutable values, ``errors`` the error tree.  Nothing here touches a socket,
a clock or a thread, and nothing imports from outside this folder: feeding
the same bytes in any chunking gives the same events, every limit is a
keyword argument, and memory stays bounded under any input.
"""
