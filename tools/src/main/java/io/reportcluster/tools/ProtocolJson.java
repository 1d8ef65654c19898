package io.reportcluster.tools;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reportcluster.protocol.Json;
import java.io.IOException;

/**
 * Reads what a node wrote (REST answers, live events) into the protocol's records, with the
 * protocol's one mapper made tolerant: fields a record does not carry (or a newer node adds) are
 * skipped, and a job state this build does not know reads as null, which no tool takes as final.
 */
public final class ProtocolJson {
  private ProtocolJson() {}

  private static final ObjectMapper READER =
      Json.MAPPER
          .copy()
          .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL);

  /** The JSON text as a {@code type}; null when it is empty or not that JSON. */
  public static <T> T read(String json, Class<T> type) {
    if (json == null || json.isEmpty()) return null;
    try {
      return READER.readValue(json, type);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
