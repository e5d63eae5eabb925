package dev.strangler.router.internal;

import dev.strangler.core.config.RouterSettings;
import dev.strangler.router.Side;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.resolver.dns.DnsAddressResolverGroup;
import io.netty.resolver.dns.DnsNameResolverBuilder;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.FastThreadLocal;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The proxy, on Netty directly (epoll where it loads, NIO elsewhere). Each client connection lives on one
 * event loop, and so do its upstream connections, taken from that loop's keep-alive pool per upstream: no
 * locks on the way. For each request it picks the route and side, streams the request to that upstream and
 * the answer back as Netty decodes them (the decoded head is forwarded as it is, its headers changed in
 * place; bodies are never buffered, except the capped copies a shadow comparison keeps), with backpressure
 * both ways. Hop-by-hop headers are dropped both ways; {@code X-Forwarded-For/-Proto/-Host} are set; the
 * answer says which route and side served it in {@code X-Strangler-Route} and {@code X-Strangler-Side}. An
 * upstream that cannot be reached answers 502, one silent for {@code upstreamTimeout} 504, both with a JSON
 * body that says which; both are counted.
 */
public final class ProxyServer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyServer.class);

    /** RFC 9110 §7.6.1 hop-by-hop headers. */
    private static final List<AsciiString> HOP_BY_HOP = List.of(HttpHeaderNames.CONNECTION, HttpHeaderNames.KEEP_ALIVE,
            HttpHeaderNames.PROXY_AUTHENTICATE, HttpHeaderNames.PROXY_AUTHORIZATION, HttpHeaderNames.TE, HttpHeaderNames.TRAILER,
            HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderNames.UPGRADE, AsciiString.cached("proxy-connection"));
    static final String DEFAULT_ROUTE = "default";
    private static final AsciiString ROUTE_HEADER = AsciiString.cached("X-Strangler-Route");
    private static final AsciiString SIDE_HEADER = AsciiString.cached("X-Strangler-Side");
    private static final AsciiString FORWARDED_FOR = AsciiString.cached("X-Forwarded-For");
    private static final AsciiString FORWARDED_PROTO = AsciiString.cached("X-Forwarded-Proto");
    private static final AsciiString FORWARDED_HOST = AsciiString.cached("X-Forwarded-Host");
    /** Body pieces up to this size are passed on as they arrive (Netty's default is 8 KiB). */
    private static final int MAX_CHUNK_BYTES = 64 * 1024;

    private final RouterSettings settings;
    private final List<LiveRoute> routes;
    private final Clock clock;
    private final boolean epoll;
    private final EventLoopGroup group;
    /** Each event loop's pools, by upstream {@code host:port}; only its own loop touches them. */
    private final FastThreadLocal<Map<String, UpstreamPool>> pools = new FastThreadLocal<>() {
        @Override
        protected Map<String, UpstreamPool> initialValue() {
            return new HashMap<>();
        }
    };
    /**
     * Upstream host names resolved by Netty's asynchronous DNS resolver (hosts file, then the system's name servers
     * and search domains, answers cached for their TTL): a slow name server delays the connection that needs it,
     * not every request of the event loop, as the JDK's blocking resolver would.
     */
    private final DnsAddressResolverGroup resolver;
    private Channel server;

    public ProxyServer(RouterSettings settings, List<LiveRoute> routes, Clock clock, int eventLoops) {
        this.settings = settings;
        this.routes = List.copyOf(routes);
        this.clock = clock;
        this.epoll = Epoll.isAvailable();
        this.group = new MultiThreadIoEventLoopGroup(eventLoops, new DefaultThreadFactory("strangler-router"),
                epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
        this.resolver = new DnsAddressResolverGroup(new DnsNameResolverBuilder()
                .datagramChannelType(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
                .socketChannelType(epoll ? EpollSocketChannel.class : NioSocketChannel.class));
    }

    /** {@code native (epoll)} or {@code NIO}. */
    public String transport() {
        return epoll ? "native (epoll)" : "NIO";
    }

    /**
     * Opens the proxy port.
     *
     * @return the port it listens on (the one given, or the one the system picked for 0)
     */
    public int listen(String host, int port) throws InterruptedException {
        server = new ServerBootstrap().group(group).channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(new HttpDecoderConfig().setMaxChunkSize(MAX_CHUNK_BYTES)),
                                new HttpServerExpectContinueHandler(), new ClientConnection());
                    }
                })
                .bind(host, port).sync().channel();
        return ((InetSocketAddress) server.localAddress()).getPort();
    }

    @Override
    public void close() {
        if (server != null) {
            server.close().syncUninterruptibly();
        }
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        resolver.close();
    }

    private LiveRoute match(RequestView view) {
        for (LiveRoute r : routes) {
            if (r.matches(view)) {
                return r;
            }
        }
        return null;
    }

    /** The pool of the calling event loop to the upstream. */
    private UpstreamPool pool(EventLoop loop, URI upstream) {
        Map<String, UpstreamPool> byUpstream = pools.get();
        String authority = authority(upstream);
        UpstreamPool pool = byUpstream.get(authority);
        if (pool == null) {
            Bootstrap bootstrap = new Bootstrap().group(loop).channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .resolver(resolver)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, settings.connectTimeout().toMillis()))
                    .remoteAddress(upstream.getHost(), port(upstream))
                    .handler(new ChannelInitializer<>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            // silent (nothing read or written) for upstreamTimeout: 504 mid-request, closed when idle in the pool
                            ch.pipeline().addLast(new HttpClientCodec(new HttpDecoderConfig().setMaxChunkSize(MAX_CHUNK_BYTES), false, false),
                                    new IdleStateHandler(0, 0, settings.upstreamTimeout().toMillis(), TimeUnit.MILLISECONDS),
                                    new UpstreamConnection());
                        }
                    });
            pool = new UpstreamPool(bootstrap, loop, settings.maxConnectionsPerUpstream(), settings.upstreamTimeout());
            byUpstream.put(authority, pool);
        }
        return pool;
    }

    private static String authority(URI uri) {
        return uri.getHost() + ":" + port(uri);
    }

    private static int port(URI uri) {
        return uri.getPort() > 0 ? uri.getPort() : 80;
    }

    private static String address(SocketAddress address) {
        if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress();
        }
        return address == null ? "" : address.toString();
    }

    /** Removes the hop-by-hop headers and those the {@code Connection} header names. */
    private static void dropHopByHop(HttpHeaders headers) {
        if (headers.contains(HttpHeaderNames.CONNECTION)) {
            for (String value : headers.getAll(HttpHeaderNames.CONNECTION)) {
                for (String token : value.split(",")) {
                    String name = token.trim();
                    if (!name.isEmpty()) {
                        headers.remove(name.toLowerCase(Locale.ROOT));
                    }
                }
            }
        }
        for (AsciiString name : HOP_BY_HOP) {
            headers.remove(name);
        }
    }

    /**
     * Turns the client's request into the upstream's, in place: hop-by-hop headers dropped, {@code Host} the
     * upstream's, {@code X-Forwarded-*} set, HTTP/1.1 (a body of unknown length goes chunked).
     */
    private static void toUpstream(HttpRequest request, boolean chunkedBody, URI upstream, String clientAddress) {
        HttpHeaders headers = request.headers();
        String host = headers.get(HttpHeaderNames.HOST);
        dropHopByHop(headers);
        String forwardedFor = headers.get(FORWARDED_FOR);
        headers.set(FORWARDED_FOR, forwardedFor == null || forwardedFor.isBlank() ? clientAddress : forwardedFor + ", " + clientAddress);
        headers.set(FORWARDED_PROTO, "http");
        if (host != null) {
            headers.set(FORWARDED_HOST, host);
        }
        headers.set(HttpHeaderNames.HOST, port(upstream) == 80 ? upstream.getHost() : authority(upstream));
        if (chunkedBody) {
            headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        }
        request.setProtocolVersion(HttpVersion.HTTP_1_1);
    }

    private static String json(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", " ");
    }

    /** One client connection: its requests, one at a time (a pipelined request waits for the answer before it). */
    private final class ClientConnection extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private String clientAddress = "";
        /** The request being answered. */
        private Exchange current;
        /** A shadowed request whose body is still arriving (it goes out, to both sides, once whole). */
        private ShadowGather gathering;
        private final ArrayDeque<Object> pipelined = new ArrayDeque<>();

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            clientAddress = address(ctx.channel().remoteAddress());
            super.channelActive(ctx);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            boolean bodyArriving = gathering != null || (current != null && !current.requestDone);
            if (!pipelined.isEmpty() || (current != null && !bodyArriving)) {
                pipelined.addLast(msg);
                return;
            }
            dispatch(msg);
        }

        private void dispatch(Object msg) {
            if (msg instanceof HttpRequest request) {
                if (request.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    badRequest(request.decoderResult().cause());
                    return;
                }
                begin(request);
                if (msg instanceof HttpContent content) {
                    body(content);
                }
                return;
            }
            if (msg instanceof HttpContent content) {
                body(content);
                return;
            }
            ReferenceCountUtil.release(msg);
        }

        private void body(HttpContent content) {
            if (gathering != null) {
                gathering.add(content);
            } else if (current != null && !current.requestDone) {
                current.requestContent(content);
            } else {
                // the rest of a body whose request was answered already (an upstream that failed early)
                content.release();
            }
        }

        private void begin(HttpRequest request) {
            long start = System.nanoTime();
            NettyRequestView view = new NettyRequestView(request, clientAddress);
            LiveRoute route = match(view);
            Side side = route == null ? Side.MONOLITH : route.choose(view);
            URI upstream = route == null ? settings.defaultUpstream()
                    : side == Side.SERVICE ? route.settings().service() : route.settings().monolith();
            boolean chunkedBody = !HttpUtil.isContentLengthSet(request) && HttpUtil.isTransferEncodingChunked(request);
            boolean http10 = request.protocolVersion().equals(HttpVersion.HTTP_1_0);
            boolean keepAlive = HttpUtil.isKeepAlive(request);
            toUpstream(request, chunkedBody, upstream, clientAddress);
            if (route != null && side == Side.MONOLITH && route.shadows(view.method()) && route.tryStartShadow()) {
                gathering = new ShadowGather(this, request, route, start, http10, keepAlive);
                return;
            }
            current = new Exchange(ctx.channel().eventLoop(), this, route, side, upstream, start, request, null,
                    new ClientSink(this, request.method() == HttpMethod.HEAD, http10, keepAlive, null));
            current.begin();
        }

        /** The exchange answered (or failed): the next pipelined request, if any. */
        void answered(Exchange exchange) {
            if (current == exchange) {
                current = null;
            }
            if (pipelined.isEmpty()) {
                return;
            }
            // the next request, and its body, up to where that request is whole (the one after it waits for its answer)
            while (!pipelined.isEmpty() && ctx.channel().isActive() && !(current != null && current.requestDone)) {
                dispatch(pipelined.pollFirst());
            }
            // not inside a read of the client's, whose end would flush
            if (current != null) {
                current.flushUpstream();
            }
        }

        void shadowStarted(Exchange monolith) {
            gathering = null;
            current = monolith;
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (current != null) {
                current.flushUpstream();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (current != null) {
                current.clientWritable(ctx.channel().isWritable());
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (current != null) {
                current.clientGone();
                current = null;
            }
            if (gathering != null) {
                gathering.drop();
                gathering = null;
            }
            pipelined.forEach(ReferenceCountUtil::release);
            pipelined.clear();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("router: client connection {} failed: {}", clientAddress, cause.toString());
            ctx.close();
        }

        private void badRequest(Throwable cause) {
            byte[] body = ("{\"error\":\"bad request\",\"detail\":\"" + json(String.valueOf(cause == null ? "" : cause.getMessage())) + "\"}")
                    .getBytes(StandardCharsets.UTF_8);
            FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_REQUEST, Unpooled.wrappedBuffer(body));
            response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length).set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(response).addListener(f -> ctx.close());
        }
    }

    /** Where an exchange's answer goes: the client, or (for a shadow copy) a comparison. */
    private interface Sink {
        void head(Exchange exchange, HttpResponse head);

        /** Takes the content (it releases or passes it on). */
        void content(Exchange exchange, HttpContent content);

        void flush();

        void ended(Exchange exchange);

        void failed(Exchange exchange, int status, String error, String detail);

        /** The client left before the answer ended. */
        void abandoned(Exchange exchange);
    }

    /** One request to one upstream, over a connection of the pool, and its answer to a sink. */
    private final class Exchange implements UpstreamPool.Taker {
        private final EventLoop loop;
        private final ClientConnection client;
        private final LiveRoute route;
        private final Side side;
        private final URI upstream;
        private final long start;
        private final HttpRequest request;
        private final Sink sink;
        /** The whole body, known before the request goes out (a shadowed request); null when it streams from the client. */
        private final ByteBuf wholeBody;
        /** No body at all: only the empty end of the message follows the head. */
        private final boolean bodiless;
        /** Sent again on a fresh connection if a kept-alive one turns out closed before any answer. */
        private final boolean retryable;
        /** Body pieces that arrived before the connection. */
        private final List<HttpContent> unsent = new ArrayList<>(2);
        private Channel channel;
        private boolean reused;
        private boolean retried;
        private boolean beginning;
        boolean requestDone;
        private boolean responseStarted;
        private boolean skippingInformational;
        private boolean upstreamKeepsAlive;
        private boolean upstreamPaused;
        private boolean finished;
        private int status;

        /**
         * @param client    the connection served; null for a shadow copy (its answer is only compared, never counted)
         * @param wholeBody the request's whole body when known up front (the exchange owns it), else null
         */
        Exchange(EventLoop loop, ClientConnection client, LiveRoute route, Side side, URI upstream, long start, HttpRequest request,
                 ByteBuf wholeBody, Sink sink) {
            this.loop = loop;
            this.client = client;
            this.route = route;
            this.side = side;
            this.upstream = upstream;
            this.start = start;
            this.request = request;
            this.wholeBody = wholeBody;
            this.sink = sink;
            this.bodiless = wholeBody == null && !HttpUtil.isTransferEncodingChunked(request) && HttpUtil.getContentLength(request, 0L) == 0;
            HttpMethod method = request.method();
            boolean idempotent = method == HttpMethod.GET || method == HttpMethod.HEAD || method == HttpMethod.OPTIONS;
            this.retryable = idempotent && (bodiless || wholeBody != null);
            this.requestDone = wholeBody != null;
        }

        void begin() {
            beginning = true;
            pool(loop, upstream).take(this);
            beginning = false;
        }

        @Override
        public void connected(Channel connection, boolean wasUsed) {
            if (finished) {
                pool(loop, upstream).giveBack(connection);
                return;
            }
            channel = connection;
            reused = wasUsed;
            connection.pipeline().get(UpstreamConnection.class).exchange = this;
            connection.write(request);
            if (wholeBody != null) {
                connection.write(new DefaultLastHttpContent(wholeBody.retainedDuplicate()));
            } else if (bodiless) {
                if (requestDone) {
                    connection.write(LastHttpContent.EMPTY_LAST_CONTENT);
                }
            } else {
                unsent.forEach(connection::write);
                unsent.clear();
                if (!requestDone) {
                    client.ctx.channel().config().setAutoRead(connection.isWritable());
                }
            }
            if (!(beginning && client != null)) {
                // a request begun by its client's connection is flushed by whoever began it (the end of the client's read,
                // or the dispatch of a pipelined request); a connection that came later, or a shadow copy, flushes here
                connection.flush();
            }
        }

        @Override
        public void failed(Throwable cause) {
            boolean timeout = cause instanceof ConnectTimeoutException;
            fail(timeout ? "timeout" : "connect", timeout ? 504 : 502, String.valueOf(cause.getMessage()));
        }

        void requestContent(HttpContent content) {
            boolean last = content instanceof LastHttpContent;
            if (last) {
                requestDone = true;
            }
            if (finished) {
                content.release();
                return;
            }
            if (bodiless) {
                content.release();
                if (last && channel != null) {
                    channel.write(LastHttpContent.EMPTY_LAST_CONTENT);
                }
                return;
            }
            if (channel == null) {
                unsent.add(content);
                if (!last) {
                    // until connected: the rest of the body waits in the client's socket, not here
                    client.ctx.channel().config().setAutoRead(false);
                }
                return;
            }
            channel.write(content);
            if (!last && !channel.isWritable()) {
                client.ctx.channel().config().setAutoRead(false);
            }
        }

        void flushUpstream() {
            if (channel != null && !finished) {
                channel.flush();
            }
        }

        void upstreamWritable(boolean writable) {
            if (writable && client != null && !requestDone) {
                client.ctx.channel().config().setAutoRead(true);
            }
        }

        void clientWritable(boolean writable) {
            if (writable && upstreamPaused && channel != null) {
                upstreamPaused = false;
                channel.config().setAutoRead(true);
            }
        }

        /** The client cannot take more now: the upstream is not read until it can. */
        void pauseUpstream() {
            if (channel != null && !upstreamPaused) {
                upstreamPaused = true;
                channel.config().setAutoRead(false);
            }
        }

        void response(Object msg) {
            if (finished) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpResponse head) {
                if (head.decoderResult().isFailure()) {
                    ReferenceCountUtil.release(msg);
                    fail(responseStarted ? "reset" : "error", 502, "the upstream's answer is not valid HTTP: " + head.decoderResult().cause());
                    return;
                }
                if (head.status().codeClass() == HttpStatusClass.INFORMATIONAL) {
                    // 1xx (a client's 100-continue was answered by the router already): not passed on
                    skippingInformational = true;
                } else {
                    responseStarted = true;
                    status = head.status().code();
                    upstreamKeepsAlive = HttpUtil.isKeepAlive(head);
                    sink.head(this, head);
                }
            }
            if (msg instanceof HttpContent content) {
                boolean last = content instanceof LastHttpContent;
                if (skippingInformational) {
                    content.release();
                    skippingInformational = !last;
                    return;
                }
                if (content.decoderResult().isFailure()) {
                    content.release();
                    fail("reset", 502, "the upstream's answer broke off: " + content.decoderResult().cause());
                    return;
                }
                sink.content(this, content);
                if (last) {
                    end();
                }
            }
        }

        private void end() {
            Channel connection = detach();
            if (upstreamPaused) {
                upstreamPaused = false;
                connection.config().setAutoRead(true);
            }
            if (upstreamKeepsAlive && requestDone) {
                pool(loop, upstream).giveBack(connection);
            } else {
                connection.close();
            }
            if (client != null && route != null) {
                route.side(side).record(status, System.nanoTime() - start, clock.millis());
            }
            sink.ended(this);
        }

        /** The upstream connection closed before the answer ended. */
        void upstreamClosed() {
            if (finished) {
                return;
            }
            if (!responseStarted && reused && retryable && !retried) {
                // a kept-alive connection the upstream had closed meanwhile: the request again, on a fresh one
                retried = true;
                channel = null;
                pool(loop, upstream).take(this);
                return;
            }
            fail(responseStarted ? "reset" : "error", 502, "the upstream closed the connection");
        }

        void timeout() {
            fail("timeout", 504, "no answer for " + settings.upstreamTimeout().toMillis() + " ms");
        }

        private void fail(String reason, int failStatus, String detail) {
            if (finished) {
                return;
            }
            Channel connection = detach();
            if (connection != null) {
                connection.close();
            }
            if (client != null && route != null) {
                route.side(side).failure(reason, failStatus, System.nanoTime() - start, clock.millis());
            }
            sink.failed(this, failStatus, failStatus == 504 ? "upstream timed out" : "upstream unreachable", detail);
        }

        /** The client left: the upstream connection is closed (its answer is not wanted, so it cannot be reused). */
        void clientGone() {
            if (finished) {
                return;
            }
            Channel connection = detach();
            if (connection != null) {
                connection.close();
            }
            sink.abandoned(this);
        }

        /** Marks the exchange finished, frees what it holds and unhooks its connection; returns that connection (or null). */
        private Channel detach() {
            finished = true;
            unsent.forEach(ReferenceCountUtil::release);
            unsent.clear();
            if (wholeBody != null) {
                wholeBody.release();
            }
            Channel connection = channel;
            if (connection != null) {
                UpstreamConnection handler = connection.pipeline().get(UpstreamConnection.class);
                if (handler != null && handler.exchange == this) {
                    handler.exchange = null;
                }
            }
            return connection;
        }

        String routeName() {
            return route == null ? DEFAULT_ROUTE : route.name();
        }
    }

    /** The answer to the client (and, for a shadowed request, a capped copy for the comparison). */
    private final class ClientSink implements Sink {
        private final ClientConnection client;
        private final boolean head;
        private final boolean http10;
        private boolean keepAlive;
        private final ShadowCopy copy;
        private boolean headWritten;

        /**
         * @param head      the request is a HEAD (its answer has no body whatever its headers say)
         * @param http10    the client speaks HTTP/1.0 (no chunks: an answer of unknown length ends with the connection)
         * @param keepAlive the client keeps the connection for its next request
         */
        ClientSink(ClientConnection client, boolean head, boolean http10, boolean keepAlive, ShadowCopy copy) {
            this.client = client;
            this.head = head;
            this.http10 = http10;
            this.keepAlive = keepAlive;
            this.copy = copy;
        }

        @Override
        public void head(Exchange exchange, HttpResponse response) {
            HttpHeaders headers = response.headers();
            dropHopByHop(headers);
            headers.set(ROUTE_HEADER, exchange.routeName());
            headers.set(SIDE_HEADER, exchange.side.label());
            int code = response.status().code();
            boolean bodyless = head || code == 204 || code == 304;
            if (!bodyless && !HttpUtil.isContentLengthSet(response)) {
                if (http10) {
                    // HTTP/1.0 has no chunks: the end of the connection ends the body
                    keepAlive = false;
                } else {
                    headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                }
            }
            connectionHeader(headers);
            response.setProtocolVersion(HttpVersion.HTTP_1_1);
            headWritten = true;
            client.ctx.write(response);
        }

        /** {@code Connection: close} when the connection ends with this answer, {@code keep-alive} for an HTTP/1.0 client keeping it. */
        private void connectionHeader(HttpHeaders headers) {
            if (!keepAlive) {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (http10) {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        }

        /** Writes the answer's last part; the connection ends after it unless kept alive. */
        private void last(Object message) {
            io.netty.channel.ChannelFuture written = client.ctx.writeAndFlush(message);
            if (!keepAlive) {
                written.addListener(io.netty.channel.ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void content(Exchange exchange, HttpContent content) {
            if (copy != null) {
                copy.monolithChunk(content.content());
            }
            if (content instanceof LastHttpContent) {
                last(content);
                return;
            }
            client.ctx.write(content);
            if (!client.ctx.channel().isWritable()) {
                exchange.pauseUpstream();
            }
        }

        @Override
        public void flush() {
            client.ctx.flush();
        }

        @Override
        public void ended(Exchange exchange) {
            if (copy != null) {
                copy.monolithDone(exchange.status, copy.monolithBody());
            }
            client.answered(exchange);
        }

        @Override
        public void failed(Exchange exchange, int status, String error, String detail) {
            if (copy != null) {
                copy.monolithDone(502, new byte[0]);
            }
            if (headWritten) {
                // the answer broke off after it started: the client sees its connection end
                client.ctx.close();
            } else {
                byte[] body = ("{\"error\":\"" + error + "\",\"route\":\"" + exchange.routeName() + "\",\"side\":\"" + exchange.side.label()
                        + "\",\"upstream\":\"" + authority(exchange.upstream) + "\",\"detail\":\"" + json(detail) + "\"}").getBytes(StandardCharsets.UTF_8);
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                        Unpooled.wrappedBuffer(body));
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                        .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                        .set(ROUTE_HEADER, exchange.routeName()).set(SIDE_HEADER, exchange.side.label());
                if (!exchange.requestDone) {
                    // the rest of the request body is not read: the connection ends with this answer
                    keepAlive = false;
                    client.ctx.channel().config().setAutoRead(true);
                }
                connectionHeader(response.headers());
                last(response);
            }
            client.answered(exchange);
        }

        @Override
        public void abandoned(Exchange exchange) {
            if (copy != null) {
                copy.monolithDone(502, new byte[0]);
            }
        }
    }

    /** The service's answer to a shadow copy: kept (capped) for the comparison, never sent anywhere. */
    private static final class ShadowServiceSink implements Sink {
        private final ShadowCopy copy;
        private final ByteArrayOutputStream body = new ByteArrayOutputStream();
        private final int max;
        private int status = -1;

        ShadowServiceSink(ShadowCopy copy, int max) {
            this.copy = copy;
            this.max = max;
        }

        @Override
        public void head(Exchange exchange, HttpResponse head) {
            status = head.status().code();
        }

        @Override
        public void content(Exchange exchange, HttpContent content) {
            ByteBuf bytes = content.content();
            if (body.size() <= max) {
                int n = Math.min(bytes.readableBytes(), max + 1 - body.size());
                body.write(ByteBufUtil.getBytes(bytes, bytes.readerIndex(), n), 0, n);
            }
            content.release();
        }

        @Override
        public void flush() {
        }

        @Override
        public void ended(Exchange exchange) {
            copy.serviceDone(status, body.toByteArray());
        }

        @Override
        public void failed(Exchange exchange, int status, String error, String detail) {
            copy.serviceDone(-1, new byte[0]);
        }

        @Override
        public void abandoned(Exchange exchange) {
            copy.serviceDone(-1, new byte[0]);
        }
    }

    /** A shadowed request whose body is read whole before it goes to both sides (safe methods: small or no body). */
    private final class ShadowGather {
        private final ClientConnection client;
        private final HttpRequest request;
        private final LiveRoute route;
        private final long start;
        private final boolean http10;
        private final boolean keepAlive;
        private final CompositeByteBuf body = Unpooled.compositeBuffer();

        ShadowGather(ClientConnection client, HttpRequest request, LiveRoute route, long start, boolean http10, boolean keepAlive) {
            this.client = client;
            this.request = request;
            this.route = route;
            this.start = start;
            this.http10 = http10;
            this.keepAlive = keepAlive;
        }

        void add(HttpContent content) {
            body.addComponent(true, content.content().retain());
            boolean last = content instanceof LastHttpContent;
            content.release();
            if (last) {
                launch();
            }
        }

        /** The client left before the request was whole: no comparison. */
        void drop() {
            body.release();
            route.shadowDone("skipped", Optional.empty());
        }

        private void launch() {
            int length = body.readableBytes();
            request.headers().remove(HttpHeaderNames.TRANSFER_ENCODING).setInt(HttpHeaderNames.CONTENT_LENGTH, length);
            ShadowCopy copy = new ShadowCopy(route, request.method().name(), request.uri());
            HttpRequest serviceRequest = new DefaultHttpRequest(HttpVersion.HTTP_1_1, request.method(), request.uri(), request.headers().copy());
            URI service = route.settings().service();
            serviceRequest.headers().set(HttpHeaderNames.HOST, port(service) == 80 ? service.getHost() : authority(service));
            EventLoop loop = client.ctx.channel().eventLoop();
            Exchange monolith = new Exchange(loop, client, route, Side.MONOLITH, route.settings().monolith(), start, request,
                    body.retainedDuplicate(), new ClientSink(client, request.method() == HttpMethod.HEAD, http10, keepAlive, copy));
            Exchange shadow = new Exchange(loop, null, route, Side.SERVICE, service, start, serviceRequest, body,
                    new ShadowServiceSink(copy, route.settings().shadow().maxBodyBytes()));
            client.shadowStarted(monolith);
            // the copy goes out at once, beside the monolith's request, so a slow service never holds the client
            monolith.begin();
            shadow.begin();
        }
    }

    /** The handler at the end of an upstream connection: hands what it reads to the exchange using it. */
    private final class UpstreamConnection extends ChannelInboundHandlerAdapter {
        Exchange exchange;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Exchange e = exchange;
            if (e != null) {
                e.response(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            Exchange e = exchange;
            if (e != null) {
                e.sink.flush();
            }
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Exchange e = exchange;
            if (e != null) {
                e.upstreamWritable(ctx.channel().isWritable());
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object event) {
            if (event instanceof IdleStateEvent) {
                Exchange e = exchange;
                if (e != null) {
                    e.timeout();
                } else {
                    ctx.close(); // idle in the pool for upstreamTimeout
                }
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Exchange e = exchange;
            exchange = null;
            if (e != null) {
                e.upstreamClosed();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            LOG.debug("router: upstream connection {} failed: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }

    /** The request a shadow copy needs, and the two answers meeting for comparison. */
    private final class ShadowCopy {
        private final LiveRoute route;
        private final String method;
        private final String uri;
        private final ByteArrayOutputStream monolithBody = new ByteArrayOutputStream();
        private boolean monolithTooLarge;
        private Integer monolithStatus;
        private byte[] monolithBytes;
        private Integer serviceStatus;
        private byte[] serviceBytes;

        ShadowCopy(LiveRoute route, String method, String uri) {
            this.route = route;
            this.method = method;
            this.uri = uri;
        }

        void monolithChunk(ByteBuf chunk) {
            int n = chunk.readableBytes();
            if (monolithBody.size() + n > route.settings().shadow().maxBodyBytes()) {
                monolithTooLarge = true;
            } else if (n > 0) {
                monolithBody.write(ByteBufUtil.getBytes(chunk, chunk.readerIndex(), n), 0, n);
            }
        }

        byte[] monolithBody() {
            return monolithBody.toByteArray();
        }

        synchronized void monolithDone(int status, byte[] body) {
            if (monolithStatus != null) {
                return;
            }
            monolithStatus = status;
            monolithBytes = body;
            compareWhenBoth();
        }

        synchronized void serviceDone(int status, byte[] body) {
            if (serviceStatus != null) {
                return;
            }
            serviceStatus = status;
            serviceBytes = body;
            compareWhenBoth();
        }

        private void compareWhenBoth() {
            if (monolithStatus == null || serviceStatus == null) {
                return;
            }
            if (serviceStatus < 0 || monolithStatus == 502) {
                route.shadowDone("error", Optional.empty());
                return;
            }
            if (monolithTooLarge || serviceBytes.length > route.settings().shadow().maxBodyBytes()) {
                route.shadowDone("skipped", Optional.empty());
                return;
            }
            Optional<String> difference = route.shadowComparison().difference(monolithStatus, monolithBytes, serviceStatus, serviceBytes);
            route.shadowDone(difference.isPresent() ? "mismatch" : "match", difference.map(d -> new ShadowMismatch(clock.instant(), method,
                    uri, monolithStatus, serviceStatus, d)));
        }
    }
}
