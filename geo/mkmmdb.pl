#!/usr/bin/perl
# mkmmdb.pl: build a MaxMind DB (City-like records) from a simple text list of networks.
#
# Usage: perl geo/mkmmdb.pl [--ip-version 4|6] [--record-size 24|28|32] [--type NAME] IN OUT
#
# IN is a text file, one network per line:
#
#   # comment lines and blank lines are ignored; "#" after the fields starts a comment
#   %ip_version 6                 directives (optional; command-line options win):
#   %record_size 28               ip_version 4|6 (default 6), record_size 24|28|32
#   %database_type GeoIP2-City    (default 28), database_type (default GeoIP2-City)
#   10.1.0.0/16     lat=50.11 lon=8.68 country=DE continent=EU city="Frankfurt am Main"
#   192.0.2.0/25    country=NL continent=EU      (no coordinates: a country-only record)
#   2001:db8:1::/48 lat=53.35 lon=-6.26 country=IE continent=EU city=Dublin
#   203.0.113.0/24                              (a record with no location data at all)
#
# Keys: lat and lon (degrees, both or neither), country (ISO 3166 alpha-2), continent
# (two-letter code), city (English name; quote it when it has spaces). Each record is a
# map like GeoIP2-City's: location{latitude,longitude}, country{iso_code},
# continent{code}, city{names{en}}. With ip_version 6 IPv4 networks are stored at ::/96
# and aliased from ::ffff:0:0/96, 2001::/32 and 2002::/16, as in real GeoLite2 databases.
# More specific networks win whatever the line order. OUT is written atomically.
use strict;
use warnings;

use Getopt::Long qw(GetOptions);
use MaxMind::DB::Writer::Tree;

my %opt;
GetOptions(
    'ip-version=i'  => \$opt{ip_version},
    'record-size=i' => \$opt{record_size},
    'type=s'        => \$opt{database_type},
) or usage();
usage() unless @ARGV == 2;
my ( $in, $out ) = @ARGV;

my %dir = ( ip_version => 6, record_size => 28, database_type => 'GeoIP2-City' );
my @nets;
parse_input( $in, \%dir, \@nets );
for my $k ( keys %opt ) {
    $dir{$k} = $opt{$k} if defined $opt{$k};
}
die "$in: ip_version must be 4 or 6\n" unless $dir{ip_version} =~ /^[46]$/;
die "$in: record_size must be 24, 28 or 32\n"
    unless $dir{record_size} =~ /^(?:24|28|32)$/;

my %types = (
    location  => 'map',
    latitude  => 'double',
    longitude => 'double',
    country   => 'map',
    continent => 'map',
    city      => 'map',
    names     => 'map',
    iso_code  => 'utf8_string',
    code      => 'utf8_string',
    en        => 'utf8_string',
);

my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version               => $dir{ip_version},
    record_size              => $dir{record_size},
    database_type            => $dir{database_type},
    languages                => ['en'],
    description              => { en => "gslbd test database built from $in" },
    map_key_type_callback    => sub { $types{ $_[0] } // die "unknown key $_[0]\n" },
    remove_reserved_networks => 0,
    alias_ipv6_to_ipv4       => $dir{ip_version} == 6 ? 1 : 0,
    merge_strategy           => 'none',
);

# Shorter prefixes first so a more specific network is never overwritten.
for my $n ( sort { $a->{bits} <=> $b->{bits} || $a->{line} <=> $b->{line} } @nets ) {
    eval { $tree->insert_network( $n->{net}, $n->{data} ); 1 }
        or die "$in:$n->{line}: cannot insert $n->{net}: $@";
}

my $tmp = "$out.tmp.$$";
open my $fh, '>:raw', $tmp or die "$tmp: $!\n";
$tree->write_tree($fh);
close $fh or die "$tmp: $!\n";
rename $tmp, $out or die "$out: $!\n";
exit 0;

sub usage {
    print STDERR "usage: perl geo/mkmmdb.pl [--ip-version 4|6] [--record-size 24|28|32]"
        . " [--type NAME] IN OUT\n";
    exit 2;
}

sub parse_input {
    my ( $file, $dir, $nets ) = @_;
    open my $fh, '<:encoding(UTF-8)', $file or die "$file: $!\n";
    my %seen;
    while ( my $line = <$fh> ) {
        my $where = "$file:$.";
        chomp $line;
        $line =~ s/\r$//;
        next if $line =~ /^\s*(?:#|$)/;
        if ( $line =~ /^\s*%(\w+)\s+(\S+)\s*(?:#.*)?$/ ) {
            die "$where: unknown directive %$1\n" unless exists $dir->{$1};
            $dir->{$1} = $2;
            next;
        }
        my @tok;
        my $rest = $line;
        while ( $rest =~ /\S/ ) {
            $rest =~ s/^\s+//;
            last if $rest =~ /^#/;
            if ( $rest =~ s/^(\w+)="([^"]*)"// || $rest =~ s/^(\w+)=([^\s"#]+)// ) {
                push @tok, [ $1, $2 ];
            }
            elsif ( !@tok && $rest =~ s/^([0-9A-Fa-f:.]+\/\d+)// ) {
                push @tok, [ net => $1 ];
            }
            else {
                die "$where: cannot parse near '$rest'\n";
            }
        }
        die "$where: a line must start with a network (ADDR/PREFIX)\n"
            unless @tok && $tok[0][0] eq 'net';
        my ( undef, $net ) = @{ shift @tok };
        my ( $addr, $bits ) = split m{/}, $net;
        my $max = $addr =~ /:/ ? 128 : 32;
        die "$where: prefix length of $net out of range\n" if $bits > $max;
        die "$where: $net listed twice\n" if $seen{ lc $net }++;
        my %kv;
        for my $t (@tok) {
            die "$where: key $t->[0] given twice\n" if exists $kv{ $t->[0] };
            $kv{ $t->[0] } = $t->[1];
        }
        push @$nets, { net => $net, bits => $bits + ( $max == 32 ? 96 : 0 ),
            line => $., data => record( $where, \%kv ) };
    }
    close $fh;
}

sub record {
    my ( $where, $kv ) = @_;
    my %rec;
    my $num = qr/^[-+]?(?:\d+\.?\d*|\.\d+)$/;
    if ( defined $kv->{lat} || defined $kv->{lon} ) {
        die "$where: lat and lon go together\n"
            unless defined $kv->{lat} && defined $kv->{lon};
        die "$where: bad lat $kv->{lat}\n"
            unless $kv->{lat} =~ $num && abs( $kv->{lat} ) <= 90;
        die "$where: bad lon $kv->{lon}\n"
            unless $kv->{lon} =~ $num && abs( $kv->{lon} ) <= 180;
        $rec{location} = { latitude => 0 + $kv->{lat}, longitude => 0 + $kv->{lon} };
    }
    for my $k (qw(country continent)) {
        next unless defined $kv->{$k};
        die "$where: $k must be two letters\n" unless $kv->{$k} =~ /^[A-Za-z]{2}$/;
        $rec{$k} = { ( $k eq 'country' ? 'iso_code' : 'code' ) => uc $kv->{$k} };
    }
    $rec{city} = { names => { en => $kv->{city} } } if defined $kv->{city};
    for my $k ( keys %$kv ) {
        die "$where: unknown key $k\n" unless $k =~ /^(?:lat|lon|country|continent|city)$/;
    }
    return \%rec;
}
