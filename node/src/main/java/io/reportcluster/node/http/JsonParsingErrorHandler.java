package io.reportcluster.node.http;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Requests the HTTP layer refuses before any route sees them (URI too long, headers too many or too
 * large, malformed request line or header, bad Content-Length) get the API's JSON error too,
 * instead of Pekko's text/plain, and always a 4xx: what the client sent is at fault, so none of it
 * may look like a server error. Pekko answers too many headers with 400, an unknown method with 501
 * and an unknown HTTP version with 505; these become 431, 400 and 400; headers cut short (see
 * {@link SlowClientGuard}) become 408. Wired with {@code pekko.http.server.parsing.error-handler}.
 */
public final class JsonParsingErrorHandler extends ParsingErrorHandler {
  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    log.warning(
        "Illegal request, responding with status '{}': {}",
        status,
        LogSafe.text(info.formatPretty()));
    String summary = info.summary();
    if (status.intValue() == 400
        && summary.contains("more than the configured limit")
        && summary.endsWith("headers")) {
      return JsonResponses.error(
          StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE, "request_header_fields_too_large", summary);
    }
    if (summary.equals("Illegal HTTP message start")) {
      // Pekko's words for a connection whose input ended inside a request's headers: the
      // SlowClientGuard cut a client too slow to send them (or the client stopped half-way).
      return JsonResponses.error(
          StatusCodes.REQUEST_TIMEOUT,
          "request_timeout",
          "the request's headers did not arrive whole in time (reports.http.request-header-timeout)");
    }
    if (status.intValue() == 501) {
      return JsonResponses.error(StatusCodes.BAD_REQUEST, "unsupported_method", summary);
    }
    if (status.intValue() == 505) {
      return JsonResponses.error(StatusCodes.BAD_REQUEST, "unsupported_http_version", summary);
    }
    return JsonResponses.error(status, errorCode(status), summary);
  }

  /** The error code of a status: its reason phrase in snake case ("uri_too_long"). */
  static String errorCode(org.apache.pekko.http.javadsl.model.StatusCode status) {
    return status.reason().toLowerCase(java.util.Locale.ROOT).replace(' ', '_');
  }
}
