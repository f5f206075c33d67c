//! Batches on the wire: `send_bytes_batch` puts exactly the bytes of the
//! same `send_bytes` calls on a pipe and on a socket pair.
