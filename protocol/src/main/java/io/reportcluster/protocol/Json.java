package io.reportcluster.protocol;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

/**
 * The one JSON mapping of the contract: snake_case field names, ISO-8601 instants. The REST API,
 * the live events on Redis, the status mirror's {@code view} field and the operator tools all read
 * and write through it, so a field is spelled the same everywhere.
 */
public final class Json {
  private Json() {}

  public static final ObjectMapper MAPPER =
      new ObjectMapper()
          .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
          .registerModule(new JavaTimeModule())
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          // "{...} trailing garbage" is malformed input, not a valid object with extras.
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
}
