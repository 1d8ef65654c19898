package io.reportcluster.node.http;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The operations dashboard at {@code /dashboard}: static files (HTML, CSS, JS modules, an SVG icon)
 * from the classpath folder {@code dashboard/}, which talk to the API of the node that served them.
 *
 * <p>Only a flat file name of known kind is served ({@code app.js}, {@code style.css}): no folder,
 * no dot segment, no encoded slash reaches the classpath, so nothing else of the jar can be read
 * through here; anything else under {@code /dashboard/} is the API's JSON 404. Each answer says
 * {@code Cache-Control: no-cache} (the browser revalidates with If-Modified-Since and gets a 304,
 * so a new node version is picked up at once), gzip for a browser that takes it (the whole
 * dashboard is about 30 KB so), and a Content-Security-Policy that allows scripts, styles and
 * connections only from this node: no inline script, no remote source.
 */
public final class DashboardRoutes extends AllDirectives {
  private static final String FOLDER = "dashboard/";

  /** A file of the dashboard: one flat name, lower case, of a kind in {@link #TYPES}. */
  private static final Pattern FILE_NAME =
      Pattern.compile("[a-z0-9][a-z0-9-]*\\.(html|css|js|svg)");

  private static final Map<String, ContentType> TYPES =
      Map.of(
          "html", ContentTypes.TEXT_HTML_UTF8,
          "css", MediaTypes.TEXT_CSS.toContentType(HttpCharsets.UTF_8),
          "js", MediaTypes.APPLICATION_JAVASCRIPT.toContentType(HttpCharsets.UTF_8),
          "svg", MediaTypes.IMAGE_SVG_XML.toContentType());

  static final String CONTENT_SECURITY_POLICY =
      "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
          + "form-action 'self'; frame-ancestors 'none'";

  private static final List<HttpHeader> HEADERS =
      List.of(
          RawHeader.create("Cache-Control", "no-cache"),
          RawHeader.create("Content-Security-Policy", CONTENT_SECURITY_POLICY),
          RawHeader.create("X-Content-Type-Options", "nosniff"),
          RawHeader.create("Referrer-Policy", "no-referrer"));

  public Route routes() {
    return pathPrefix(
        "dashboard",
        () ->
            respondWithHeaders(
                HEADERS,
                () ->
                    get(
                        () ->
                            encodeResponse(
                                () ->
                                    concat(
                                        pathEndOrSingleSlash(() -> file("index.html")),
                                        path(PathMatchers.segment(), this::file),
                                        notFound())))));
  }

  private Route file(String name) {
    if (!FILE_NAME.matcher(name).matches()) return notFound();
    ContentType type = TYPES.get(name.substring(name.lastIndexOf('.') + 1));
    // getFromResource answers conditional requests (304) and rejects a missing resource.
    return concat(getFromResource(FOLDER + name, type, getClass().getClassLoader()), notFound());
  }

  private Route notFound() {
    return extractUri(
        uri ->
            complete(
                JsonResponses.error(
                    StatusCodes.NOT_FOUND, "not_found", "no dashboard file at " + uri.path())));
  }
}
