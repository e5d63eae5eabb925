package dev.strangler.benchmarks;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;

/**
 * Not part of Strangler: the least an HTTP/1.1 proxy on the JVM can do, as a floor for {@code strangler bench
 * router}. Raw Netty (epoll), the request and response forwarded as Netty's decoded HTTP objects without
 * copying headers, each client connection with its own kept-alive connection to each of the two upstreams,
 * the side picked from the {@code X-User-Id} header's hash (50%). No routes, metrics, timeouts, hop-by-hop
 * headers, X-Forwarded-* or error answers: whatever the router costs beyond this is its own.
 */
final class NettyFloorProxy implements AutoCloseable {

    private final EventLoopGroup group;
    private final Channel server;

    NettyFloorProxy(int port, int monolithPort, int servicePort, int loops) throws InterruptedException {
        group = new MultiThreadIoEventLoopGroup(loops, EpollIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Front(monolithPort, servicePort));
                    }
                }).bind("127.0.0.1", port).sync().channel();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully().syncUninterruptibly();
    }

    /** One client connection: forwards each request to the side's upstream connection and the answer back. */
    private static final class Front extends ChannelInboundHandlerAdapter {
        private final int[] ports;
        private final Channel[] upstreams = new Channel[2];
        private final io.netty.channel.ChannelFuture[] connects = new io.netty.channel.ChannelFuture[2];
        private Channel current;
        private io.netty.channel.ChannelFuture currentConnect;

        Front(int monolithPort, int servicePort) {
            this.ports = new int[] {monolithPort, servicePort};
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest request) {
                String user = request.headers().get("X-User-Id");
                int side = user == null ? 0 : (user.hashCode() & 1);
                current = upstreams[side];
                currentConnect = connects[side];
                if (current == null || (currentConnect.isDone() && !current.isActive())) {
                    Channel client = ctx.channel();
                    currentConnect = new Bootstrap().group(ctx.channel().eventLoop()).channel(EpollSocketChannel.class)
                            .option(ChannelOption.TCP_NODELAY, true)
                            .handler(new ChannelInitializer<SocketChannel>() {
                                @Override
                                protected void initChannel(SocketChannel ch) {
                                    ch.pipeline().addLast(new HttpClientCodec(), new Back(client));
                                }
                            }).connect(new InetSocketAddress("127.0.0.1", ports[side]));
                    current = currentConnect.channel();
                    upstreams[side] = current;
                    connects[side] = currentConnect;
                }
            }
            if (currentConnect.isDone()) {
                current.write(msg);
            } else {
                // until connected: in order, each once the connection is there
                Channel upstream = current;
                currentConnect.addListener(f -> upstream.writeAndFlush(msg));
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (current != null && currentConnect.isDone()) {
                current.flush();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            for (Channel c : upstreams) {
                if (c != null) {
                    c.close();
                }
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** One upstream connection: its answers go back to the client connection. */
    private static final class Back extends ChannelInboundHandlerAdapter {
        private final Channel client;

        Back(Channel client) {
            this.client = client;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (client.isActive()) {
                client.write(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            client.flush();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
            client.close();
        }
    }
}
