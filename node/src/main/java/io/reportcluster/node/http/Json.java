package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.reportcluster.protocol.Api.ErrorBody;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** The one JSON mapper of the REST API (snake_case, ISO-8601 instants) and response helpers. */
public final class Json {
  private Json() {}

  public static final ObjectMapper MAPPER = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .registerModule(new JavaTimeModule())
      .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
      // "{...} trailing garbage" is malformed input, not a valid object with extras.
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  public static HttpResponse response(StatusCode status, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      // Our own records always serialize; reaching this is a bug, still answered as JSON.
      return HttpResponse.create()
          .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
              "{\"error\":\"internal_error\",\"detail\":\"response could not be encoded\"}"));
    }
  }

  public static HttpResponse error(StatusCode status, String error, Object detail) {
    return response(status, new ErrorBody(error, detail));
  }
}
