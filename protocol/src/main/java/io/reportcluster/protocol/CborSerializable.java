package io.reportcluster.protocol;

/**
 * Marker for every message and event that crosses a node boundary or lands in the journal. Bound to
 * pekko-serialization-jackson's CBOR serializer in {@code serialization.conf}.
 */
public interface CborSerializable {}
