#!/usr/bin/env python3
"""A scripted network-device CLI, run as an sshd ``ForceCommand`` so tests drive real SSH.

    ForceCommand /usr/bin/python3 /path/vendor_cli.py --vendor cisco_ios --enable-file F

Speaks like the device each shipped SSH profile targets: banner/MOTD, prompts, ``enable``
with a hidden password question, pager-off commands, identity commands with realistic text,
``--More--`` paging while the pager is on, the vendor's error text for unknown commands,
pfSense's numbered console menu, ProCurve's "Press any key to continue", MikroTik's
``[user@MikroTik] >`` (the ``+cte`` login suffix is stripped from the name, as RouterOS does).

Options (or the environment variables in brackets):
  --vendor NAME [EKT_VENDOR]           one of VENDORS below
  --start user|priv [EKT_START]        level at login (default: the vendor's usual one)
  --enable-file PATH [EKT_ENABLE_FILE] file (mode 0600) whose first line is the enable
                                       password; never given on the command line
  --no-enable                          a read-only account: ``enable`` always refuses
  --deny-pager-off                     the account may not turn the pager off (error text),
                                       so long output pages with --More--
  --page-lines N                       lines per page while the pager is on (default 20)

Standard library only: it runs under the system python as the unprivileged test user.
"""

from __future__ import annotations

import argparse
import os
import sys
import termios
import tty
from collections.abc import Callable
from dataclasses import dataclass, field

# --- what each device says -------------------------------------------------------------------

CISCO_IOS_VERSION = """\
Cisco IOS XE Software, Version 17.09.04a
Cisco IOS Software [Cupertino], Catalyst L3 Switch Software (CAT9K_IOSXE), Version 17.9.4a, RELEASE SOFTWARE (fc3)
Technical Support: http://www.cisco.com/techsupport
Copyright (c) 1986-2023 by Cisco Systems, Inc.
Compiled Fri 20-Oct-23 10:44 by mcpre


Cisco IOS-XE software, Copyright (c) 2005-2023 by cisco Systems, Inc.
All rights reserved.  Certain components of Cisco IOS-XE software are
licensed under the GNU General Public License ("GPL") Version 2.0.  The
software code licensed under GPL Version 2.0 is free software that comes
with ABSOLUTELY NO WARRANTY.  You can redistribute and/or modify such
GPL code under the terms of GPL Version 2.0.  For more details, see the
documentation or "License Notice" file accompanying the IOS-XE software,
or the applicable URL provided on the flyer accompanying the IOS-XE
software.


ROM: IOS-XE ROMMON
BOOTLDR: System Bootstrap, Version 17.11.1r, RELEASE SOFTWARE (P)

{host} uptime is 41 weeks, 2 days, 3 hours, 17 minutes
Uptime for this control processor is 41 weeks, 2 days, 3 hours, 20 minutes
System returned to ROM by Reload Command
System restarted at 07:12:54 UTC Mon Feb 6 2026
System image file is "flash:packages.conf"
Last reload reason: Reload Command

This product contains cryptographic features and is subject to United
States and local country laws governing import, export, transfer and
use.

Technology Package License Information:

------------------------------------------------------------------------------
Technology-package                                     Technology-package
Current                        Type                       Next reboot
------------------------------------------------------------------------------
network-advantage       Smart License                 network-advantage
dna-advantage           Subscription Smart License    dna-advantage

cisco C9300-48P (X86) processor with 1338934K/6147K bytes of memory.
Processor board ID FOC2345X0AB
1 Virtual Ethernet interface
56 Gigabit Ethernet interfaces
8 Ten Gigabit Ethernet interfaces
2048K bytes of non-volatile configuration memory.
8388608K bytes of physical memory.
1638400K bytes of Crash Files at crashinfo:.
11264000K bytes of Flash at flash:.

Base Ethernet MAC Address          : 70:0f:6a:12:34:00
Motherboard Assembly Number        : 73-17955-06
Motherboard Serial Number          : FOC23450ABC
Model Revision Number              : B0
Model Number                       : C9300-48P
System Serial Number               : FOC2345X0AB

Configuration register is 0x102
"""

CISCO_IOS_INVENTORY = """\
NAME: "c93xx Stack", DESCR: "c93xx Stack"
PID: C9300-48P         , VID: V02  , SN: FOC2345X0AB

NAME: "Switch 1", DESCR: "C9300-48P"
PID: C9300-48P         , VID: V02  , SN: FOC2345X0AB

NAME: "Switch 1 - Power Supply A", DESCR: "Switch 1 - Power Supply A"
PID: PWR-C1-715WAC     , VID: V02  , SN: LIT23461X2Z
"""

NXOS_VERSION = """\
Cisco Nexus Operating System (NX-OS) Software
TAC support: http://www.cisco.com/tac
Documents: http://www.cisco.com/en/US/products/ps9372/tsd_products_support_series_home.html
Copyright (c) 2002-2023, Cisco Systems, Inc. All rights reserved.
The copyrights to certain works contained herein are owned by
other third parties and are used and distributed under license.

Software
  BIOS: version 05.47
 NXOS: version 10.3(4a) [Maintenance Release]
  BIOS compile time:  04/28/2022
  NXOS image file is: bootflash:///nxos64-cs.10.3.4a.M.bin
  NXOS compile time:  9/26/2023 19:00:00 [09/26/2023 12:31:35]

Hardware
  cisco Nexus9000 C93180YC-FX Chassis
  Intel(R) Xeon(R) CPU D-1528 @ 1.90GHz with 24569356 kB of memory.
  Processor Board ID FDO23110XYZ

  Device name: {host}
  bootflash: 115805708 kB

Kernel uptime is 201 day(s), 4 hour(s), 2 minute(s), 51 second(s)

Last reset at 417261 usecs after Mon Apr  6 09:10:44 2026
  Reason: Reset Requested by CLI command reload
  System version: 10.3(4a)
"""

ASA_VERSION = """\

Cisco Adaptive Security Appliance Software Version 9.18(4)
SSP Operating System Version 2.12(0.498)
Device Manager Version 7.18(1)

Compiled on Thu 31-Aug-23 16:38 GMT by builders
System image file is "disk0:/installables/switch/fxos-k8-fp1k-lfbff.2.12.0.498.SPA"
Config file at boot was "startup-config"

{host} up 88 days 5 hours

Hardware:   FPR-1120, 6588 MB RAM, CPU Atom C3000 series 2200 MHz, 1 CPU (12 cores)
Internal ATA Compact Flash, 8000MB
BIOS Flash M25P64 @ 0xfed01000, 16384KB

 1: Int: Internal-Data0/0    : address is 000f.b748.4800, irq 255
 2: Ext: Management1/1       : address is 00a0.c9ff.0a01, irq 0

Licensed features for this platform:
Maximum Physical Interfaces       : Unlimited
Maximum VLANs                     : 1024
Inside Hosts                      : Unlimited
Failover                          : Active/Active
Encryption-DES                    : Enabled
Encryption-3DES-AES               : Enabled
Security Contexts                 : 2
Carrier                           : Disabled
AnyConnect Premium Peers          : 3500
Other VPN Peers                   : 3500
Total VPN Peers                   : 3500

Serial Number: JAD23120ABC
Configuration last modified by admin at 09:44:02.219 UTC Tue Nov 3 2026
"""

JUNOS_VERSION = """\
Hostname: {host}
Model: mx204
Junos: 21.4R3-S5.4
JUNOS OS Kernel 64-bit  [20230913.5a5c3b2_builder_stable_12_214]
JUNOS OS libs [20230913.5a5c3b2_builder_stable_12_214]
JUNOS OS runtime [20230913.5a5c3b2_builder_stable_12_214]
JUNOS OS time zone information [20230913.5a5c3b2_builder_stable_12_214]
JUNOS network stack and utilities [20231012.135110_builder_junos_214_r3_s5]
JUNOS libs [20231012.135110_builder_junos_214_r3_s5]
JUNOS OS libs compat32 [20230913.5a5c3b2_builder_stable_12_214]
JUNOS OS 32-bit compatibility [20230913.5a5c3b2_builder_stable_12_214]
JUNOS libs compat32 [20231012.135110_builder_junos_214_r3_s5]
JUNOS runtime [20231012.135110_builder_junos_214_r3_s5]
JUNOS Packet Forwarding Engine Simulation Package [20231012.135110_builder_junos_214_r3_s5]
JUNOS sflow mx [20231012.135110_builder_junos_214_r3_s5]
JUNOS py extensions [20231012.135110_builder_junos_214_r3_s5]
JUNOS py base [20231012.135110_builder_junos_214_r3_s5]
JUNOS OS crypto [20230913.5a5c3b2_builder_stable_12_214]
JUNOS Crypto Modules [20231012.135110_builder_junos_214_r3_s5]
JUNOS mx libs compat32 [20231012.135110_builder_junos_214_r3_s5]
JUNOS mx runtime [20231012.135110_builder_junos_214_r3_s5]
JUNOS Kernel Software Suite [20231012.135110_builder_junos_214_r3_s5]
JUNOS Routing Engine Software Suite [20231012.135110_builder_junos_214_r3_s5]
"""

EOS_VERSION = """\
Arista DCS-7050SX3-48YC8-R
Hardware version: 11.02
Serial number: JPE21234567
Hardware MAC address: 985d.8201.0a0b
System MAC address: 985d.8201.0a0b

Software image version: 4.30.2F
Architecture: x86_64
Internal build version: 4.30.2F-33092737.4302F
Internal build ID: 0f61c2a1-8c1a-4b3c-8d1e-7b9c3e2a6f10
Image format version: 3.0
Image optimization: Strata-4GB

Uptime: 12 weeks, 3 days, 4 hours and 56 minutes
Total memory: 8099424 kB
Free memory: 5623784 kB
"""

FORTIOS_STATUS = """\
Version: FortiGate-100F v7.2.7,build1577,240131 (GA.M)
Firmware Signature: certified
Virus-DB: 92.01104(2024-11-24 08:29)
Extended DB: 92.01104(2024-11-24 08:28)
AV AI/ML Model: 3.00017(2024-11-24 06:54)
IPS-DB: 28.00902(2024-11-23 02:06)
IPS-ETDB: 28.00902(2024-11-23 02:05)
APP-DB: 28.00902(2024-11-23 02:05)
FMWP-DB: 24.00078(2024-11-20 18:50)
Serial-Number: FG100FTK21012345
BIOS version: 05000012
System Part-Number: P24150-04
Log hard disk: Not available
Hostname: {host}
Private Encryption: Disable
Operation Mode: NAT
Current virtual domain: root
Max number of virtual domains: 10
Virtual domains status: 1 in NAT mode, 0 in TP mode
Virtual domain configuration: disable
FIPS-CC mode: disable
Current HA mode: standalone
Branch point: 1577
Release Version Information: GA
System time: Wed Nov 25 09:12:44 2026
Last reboot reason: warm reboot
"""

PANOS_INFO = """\

hostname: {host}
ip-address: 192.0.2.10
public-ip-address: unknown
netmask: 255.255.255.0
default-gateway: 192.0.2.1
ip-assignment: static
ipv6-address: unknown
ipv6-link-local-address: fe80::250:56ff:fe8a:1b2c/64
mac-address: 00:50:56:8a:1b:2c
time: Wed Nov 25 09:12:44 2026
uptime: 97 days, 2:11:09
family: 3200
model: PA-3220
serial: 013201012345
vm-mac-base: 7c:89:c1:00:00:00
vm-mac-count: 256
sw-version: 10.2.7-h3
global-protect-client-package-version: 6.2.1
device-dictionary-version: 95-460
app-version: 8798-8478
app-release-date: 2026/11/20 18:12:05 PST
av-version: 4750-5268
threat-version: 8798-8478
wildfire-version: 0
url-filtering-version: 20261125.20155
logdb-version: 10.2.1
platform-family: 3200
vpn-disable-mode: off
multi-vsys: off
operational-mode: normal
device-certificate-status: Valid
"""

MIKROTIK_BANNER = """\



  MMM      MMM       KKK                          TTTTTTTTTTT      KKK
  MMMM    MMMM       KKK                          TTTTTTTTTTT      KKK
  MMM MMMM MMM  III  KKK  KKK  RRRRRR     OOOOOO      TTT     III  KKK  KKK
  MMM  MM  MMM  III  KKKKK     RRR  RRR  OOO  OOO     TTT     III  KKKKK
  MMM      MMM  III  KKK KKK   RRRRRR    OOO  OOO     TTT     III  KKK KKK
  MMM      MMM  III  KKK  KKK  RRR  RRR   OOOOOO      TTT     III  KKK  KKK

  MikroTik RouterOS 7.12.1 (c) 1999-2023       https://www.mikrotik.com/

Press F1 for help

"""

MIKROTIK_RESOURCE = """\
                   uptime: 3d4h12m31s
                  version: 7.12.1 (stable)
               build-time: 2023-11-17 11:38:45
         factory-software: 7.1
              free-memory: 880.5MiB
             total-memory: 1024.0MiB
                      cpu: ARMv7
                cpu-count: 4
            cpu-frequency: 716MHz
                 cpu-load: 2%
           free-hdd-space: 103.3MiB
          total-hdd-space: 128.0MiB
  write-sect-since-reboot: 1023
         write-sect-total: 45123
               bad-blocks: 0%
        architecture-name: arm
               board-name: hAP ac^2
                 platform: MikroTik
"""

EDGESWITCH_VERSION = """\

Switch: 1

System Description............................. UBNT EdgeSwitch 24-Port Lite, 1.9.3.5360857, Linux 3.6.5-f4a26ed5
Machine Type................................... EdgeSwitch 24-Port Lite
Machine Model.................................. ES-24-Lite
Serial Number.................................. F09FC21A2B3C
Burned In MAC Address.......................... F0:9F:C2:1A:2B:3C
Software Version............................... 1.9.3.5360857

"""

EDGEOS_VERSION = """\
Version:      v2.0.9-hotfix.7
Build ID:     5611733
Build on:     06/22/23 13:16
Copyright:    2012-2023 Ubiquiti, Inc.
HW model:     EdgeRouter X 5-Port
HW S/N:       7483C2A1B2C3
Uptime:       10:15:31 up 12 days,  3:41,  1 user,  load average: 0.00, 0.00, 0.00
"""

PROCURVE_SYSTEM = """\

 Status and Counters - General System Information

  System Name        : {host}
  System Contact     :
  System Location    : Server room 1
  MAC Age Time (sec) : 300
  Time Zone          : 0
  Daylight Time Rule : None

  Software revision  : WC.16.11.0016        Base MAC Addr      : 9457a5-1b2c00
  ROM Version        : WC.17.02.0006        Serial Number      : SG81JQL0AB

  Up Time            : 203 days             Memory   - Total   : 338,599,936
  CPU Util (%)       : 1                               Free    : 203,521,600

  IP Mgmt  - Pkts Rx : 12,842,113           Packet   - Total   : 6600
             Pkts Tx : 10,220,947           Buffers    Free    : 4344
                                                       Lowest  : 4204
                                                       Missed  : 0
"""

PROCURVE_VERSION = """\
Image stamp:    /ws/swbuildm/rel_ukiah_qaoff/code/build/lvm(swbuildm_rel_ukiah_qaoff_rel_ukiah)
                Aug 29 2023 06:52:23
                WC.16.11.0016
                1325
Boot Image:     Primary
"""

AOSCX_VERSION = """\
-----------------------------------------------------------------------------
ArubaOS-CX
(c) Copyright 2017-2023 Hewlett Packard Enterprise Development LP
-----------------------------------------------------------------------------
Version      : FL.10.10.1040
Build Date   : 2023-03-01 13:45:21 UTC
Build ID     : ArubaOS-CX:FL.10.10.1040:4b7d4c1a2b3c:202303011330
Build SHA    : 4b7d4c1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e
Hot Patches  :
Active Image : primary

Service OS Version : FL.01.11.0002
BIOS Version       : FL.01.0002
"""

AOSCX_SYSTEM = """\
Hostname           : {host}
System Description : FL.10.10.1040
System Contact     :
System Location    :

Vendor             : Aruba
Product Name       : JL660A 6300M 24SR5 CL6 PoE 4SFP56 Swch
Chassis Serial Nbr : SG12KMX0AB
Base MAC Address   : 8830e7-0a0b0c
ArubaOS-CX Version : FL.10.10.1040

Time Zone          : UTC

Up Time            : 3 weeks, 2 days, 5 hours, 12 minutes
CPU Util (%)       : 4
Memory Usage (%)   : 23
"""

PFSENSE_MENU = """\
*** Welcome to pfSense 2.7.2-RELEASE (amd64) on pfSense ***

 WAN (wan)       -> vtnet0     -> v4/DHCP4: 192.0.2.20/24
 LAN (lan)       -> vtnet1     -> v4: 192.168.1.1/24

 0) Logout (SSH only)                  9) pfTop
 1) Assign Interfaces                 10) Filter Logs
 2) Set interface(s) IP address       11) Restart webConfigurator
 3) Reset webConfigurator password    12) PHP shell + pfSense tools
 4) Reset to factory defaults         13) Update from console
 5) Reboot system                     14) Disable Secure Shell (sshd)
 6) Halt system                       15) Restore recent configuration
 7) Ping host                         16) Restart PHP-FPM
 8) Shell

"""


def caret_error(message: str) -> Callable[[str, str], str]:
    """Cisco-style: a caret under the first character of the command, then the message."""

    def render(prompt: str, command: str) -> str:
        return " " * len(prompt) + "^\n" + message + "\n"

    return render


def plain_error(template: str) -> Callable[[str, str], str]:
    def render(prompt: str, command: str) -> str:
        return template.format(cmd=command, word=command.split()[0] if command.split() else "") + "\n"

    return render


@dataclass
class Vendor:
    hostname: str
    prompts: dict[str, str]  # level -> format with {host} and {user}
    start: str = "user"
    banner: str = ""
    enable: str | None = None  # command that climbs from "user" to "priv"
    enable_fail: str = "% Access denied\n"
    pager_off: dict[str, str] = field(default_factory=dict)  # command -> its reply
    more: str = " --More-- "
    commands: dict[str, str] = field(default_factory=dict)
    priv_commands: set[str] = field(default_factory=set)  # refused below "priv"
    error: Callable[[str, str], str] = field(
        default_factory=lambda: caret_error("% Invalid input detected at '^' marker.")
    )
    exits: set[str] = field(default_factory=lambda: {"exit", "logout", "quit"})
    before_prompt: str | None = None  # "anykey", "license", "menu"


VENDORS: dict[str, Vendor] = {
    "cisco_ios": Vendor(
        hostname="R1-core", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="\n**************************************************\n"
               "* Authorized access only. Activity is monitored. *\n"
               "**************************************************\n\n",
        enable="enable", enable_fail="% Bad secrets\n\n",
        pager_off={"terminal length 0": "", "terminal width 511": ""},
        commands={"show version": CISCO_IOS_VERSION, "show inventory": CISCO_IOS_INVENTORY,
                  "show clock": "*09:12:44.123 UTC Wed Nov 25 2026\n"},
        priv_commands={"show inventory"},
    ),
    "cisco_nxos": Vendor(
        hostname="N9K-spine1", prompts={"user": "{host}>", "priv": "{host}#"}, start="priv",
        banner="Cisco Nexus Operating System (NX-OS) Software\nTAC support: http://www.cisco.com/tac\n"
               "Copyright (C) 2002-2023, Cisco and/or its affiliates.\nAll rights reserved.\n",
        pager_off={"terminal length 0": "", "terminal width 511": ""},
        commands={"show version": NXOS_VERSION, "show hostname": "{host}\n"},
        error=caret_error("% Invalid command at '^' marker."),
    ),
    "cisco_asa": Vendor(
        hostname="asa-fw1", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="Type help or '?' for a list of available commands.\n",
        enable="enable", enable_fail="Invalid password\n",
        pager_off={"terminal pager 0": ""}, more="<--- More --->",
        commands={"show version": ASA_VERSION},
        error=caret_error("ERROR: % Invalid input detected at '^' marker."),
    ),
    "juniper_junos": Vendor(
        hostname="mx-edge1", prompts={"user": "{user}@{host}> "},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n"
               "--- JUNOS 21.4R3-S5.4 Kernel 64-bit  JNPR-12.1-20230913.5a5c3b2_buil\n",
        pager_off={"set cli screen-length 0": "Screen length set to 0\n",
                   "set cli screen-width 511": "Screen width set to 511\n"},
        more="---(more 48%)---", commands={"show version": JUNOS_VERSION},
        error=caret_error("unknown command."),
    ),
    "arista_eos": Vendor(
        hostname="leaf1", prompts={"user": "{host}>", "priv": "{host}#"},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n",
        enable="enable", enable_fail="% Access denied\n",
        pager_off={"terminal length 0": "Pagination disabled.\n",
                   "terminal width 32767": "Width set to 32767 columns.\n"},
        commands={"show version": EOS_VERSION},
        error=plain_error("% Invalid input"),
    ),
    "fortinet": Vendor(
        hostname="FGT-HQ", prompts={"user": "{host} $ ", "priv": "{host} # "}, start="priv",
        pager_off={}, more="--More-- ",
        commands={"get system status": FORTIOS_STATUS},
        error=plain_error("Unknown action 0\n\nCommand fail. Return code -61"),
    ),
    "paloalto_panos": Vendor(
        hostname="PA-3220", prompts={"user": "{user}@{host}> "},
        banner="Last login: Tue Nov 24 16:02:11 2026 from 192.0.2.99\n\n"
               "Number of failed attempts since last successful login: 0\n\n\n",
        pager_off={"set cli pager off": "", "set cli scripting-mode on": ""},
        more="lines 1-20 ", commands={"show system info": PANOS_INFO},
        error=plain_error("Unknown command: {word}"),
    ),
    "mikrotik_routeros": Vendor(
        hostname="MikroTik", prompts={"user": "[{user}@{host}] > "}, banner=MIKROTIK_BANNER,
        more="-- [Q quit|D dump|down]",
        commands={"/system resource print": MIKROTIK_RESOURCE,
                  "/system identity print": "  name: {host}\n"},
        error=plain_error("bad command name {word} (line 1 column 1)"),
        exits={"/quit", "quit"}, before_prompt="license",
    ),
    "ubiquiti_edge": Vendor(
        hostname="UBNT EdgeSwitch", prompts={"user": "({host}) >", "priv": "({host}) #"},
        banner="\nWelcome to EdgeSwitch\n\nBy logging in, accessing, or using the Ubiquiti product, you\n"
               "acknowledge that you have read and understood the Ubiquiti\nLicense Agreement.\n\n",
        enable="enable", enable_fail="Incorrect Password!\n",
        pager_off={"terminal length 0": ""}, more="--More-- or (q)uit",
        commands={"show version": EDGESWITCH_VERSION},
    ),
    "ubiquiti_edgerouter": Vendor(
        hostname="er-x", prompts={"user": "{user}@{host}:~$ "},
        banner="Welcome to EdgeOS\n\nBy logging in, accessing, or using the Ubiquiti product, you\n"
               "acknowledge that you have read and understood the Ubiquiti\n"
               "License Agreement (available in the Web UI at, by default,\n"
               "http://192.168.1.1) and agree to be bound by its terms.\n\n"
               "Linux er-x 4.14.54-UBNT #1 SMP Thu Jun 22 13:16:08 UTC 2023 mips\n",
        pager_off={"terminal length 0": ""}, more=":",
        commands={"show version": EDGEOS_VERSION},
        error=plain_error("Invalid command: [{word}]"),
    ),
    "hp_procurve": Vendor(
        hostname="HP-2930F-48G", prompts={"user": "{host}> ", "priv": "{host}# "}, start="priv",
        banner="HPE J9728A 2920-48G Switch\nSoftware revision WC.16.11.0016\n\n"
               "(C) Copyright 2023 Hewlett Packard Enterprise Development LP\n\n"
               "                   RESTRICTED RIGHTS LEGEND\n"
               " Confidential computer software. Valid license from HPE required for possession,\n"
               " use or copying.\n\nWe'd like to keep you up to date about:\n"
               "  * Software feature updates\n  * New product announcements\n"
               "  * Special events\n\nPlease register your products now at:  www.hpe.com/networking/register\n\n\n",
        pager_off={"no page": "", "terminal width 511": ""},
        more="-- MORE --, next page: Space, next line: Enter, quit: Control-C",
        commands={"show system information": PROCURVE_SYSTEM, "show version": PROCURVE_VERSION},
        error=plain_error("Invalid input: {word}"), exits={"exit", "logout"}, before_prompt="anykey",
    ),
    "aruba_aoscx": Vendor(
        hostname="6300-core", prompts={"user": "{host}> ", "priv": "{host}# "}, start="priv",
        banner="\nLast login: 2026-11-24 16:02:11 from 192.0.2.99\nUser \"admin\" has logged in 12 times "
               "in the past 30 days\n",
        pager_off={"no page": ""}, more="-- MORE --, next page: Space, next line: Enter, quit: q",
        commands={"show version": AOSCX_VERSION, "show system": AOSCX_SYSTEM},
        error=plain_error("Invalid input: {word}"),
    ),
    "pfsense": Vendor(
        hostname="pfSense.home.arpa", prompts={"user": "[2.7.2-RELEASE][{user}@{host}]/root: "},
        commands={"uname -a": "FreeBSD pfSense.home.arpa 14.0-CURRENT FreeBSD 14.0-CURRENT #1 "
                              "RELENG_2_7_2-n255948-8d2b56da39c: Wed Dec  6 20:45:47 UTC 2023     "
                              "root@freebsd:/var/jenkins/workspace/pfSense-CE-snapshots-2_7_2-main/"
                              "obj/amd64/StdASW5b/var/jenkins/workspace/pfSense-CE-snapshots-2_7_2-main/"
                              "sources/FreeBSD-src-RELENG_2_7_2/amd64.amd64/sys/pfSense amd64\n",
                  "cat /etc/version": "2.7.2-RELEASE\n", "cat /etc/platform": "pfSense\n"},
        error=plain_error("{word}: Command not found."), exits={"exit"}, before_prompt="menu",
    ),
}

PAGE_LINES = 20


# --- the terminal ----------------------------------------------------------------------------


class Terminal:
    """Raw-mode I/O that behaves like a device: it echoes what it reads and ends lines CR LF."""

    def __init__(self) -> None:
        self.tty = os.isatty(0)
        self._saved = termios.tcgetattr(0) if self.tty else None
        if self.tty:
            tty.setraw(0)
        self._after_cr = False

    def restore(self) -> None:
        if self._saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, self._saved)

    def write(self, text: str) -> None:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode()
        while data:
            data = data[os.write(1, data):]

    def key(self) -> str | None:
        """One key press (a CR LF pair counts once)."""
        while True:
            b = os.read(0, 1)
            if not b:
                return None
            ch = b.decode("latin-1")
            if ch == "\n" and self._after_cr:
                self._after_cr = False
                continue
            self._after_cr = ch == "\r"
            return ch

    def line(self, echo: bool = True) -> str | None:
        buf: list[str] = []
        while True:
            ch = self.key()
            if ch is None or (ch == "\x04" and not buf):
                return None
            if ch in "\r\n":
                self.write("\n")
                return "".join(buf)
            if ch in "\x7f\x08":
                if buf:
                    buf.pop()
                    if echo:
                        self.write("\b \b")
                continue
            if ch == "\x03":
                self.write("^C\n")
                return ""
            if ch == "\x15":  # Ctrl-U
                buf.clear()
                continue
            buf.append(ch)
            if echo:
                self.write(ch)


# --- the device --------------------------------------------------------------------------------


class Device:
    def __init__(self, name: str, args: argparse.Namespace) -> None:
        self.name = name
        self.v = VENDORS[name]
        self.args = args
        user = os.environ.get("USER") or os.environ.get("LOGNAME") or "admin"
        self.user = user.split("+", 1)[0]  # RouterOS strips its console options from the name
        self.level = args.start or self.v.start
        self.pager = True
        self.sub: str | None = None  # FortiOS "config system console" block
        self.term = Terminal()

    def enable_password(self) -> str | None:
        path = self.args.enable_file
        if not path:
            return None
        with open(path, encoding="utf-8") as fh:
            return fh.read().splitlines()[0] if os.path.getsize(path) else ""

    @property
    def prompt(self) -> str:
        fmt = self.v.prompts.get(self.level) or next(iter(self.v.prompts.values()))
        text = fmt.format(host=self.v.hostname, user=self.user)
        if self.sub:
            text = text.replace(" # ", f" ({self.sub}) # ")
        return text

    def out(self, text: str) -> None:
        """Write command output, paging it while the pager is on."""
        text = text.format(host=self.v.hostname, user=self.user)
        lines = text.split("\n")
        if text.endswith("\n"):
            lines.pop()
        page = self.args.page_lines
        if not self.pager or len(lines) <= page:
            self.term.write("".join(line + "\n" for line in lines))
            return
        shown = 0
        step = page
        while shown < len(lines):
            chunk = lines[shown:shown + step]
            self.term.write("".join(line + "\n" for line in chunk))
            shown += len(chunk)
            if shown >= len(lines):
                break
            self.term.write(self.v.more)
            key = self.term.key()
            # Erase the pager prompt the way devices do: CR, blanks, CR.
            self.term.write("\r" + " " * len(self.v.more) + "\r")
            if key is None or key in "qQ\x03":
                return
            step = 1 if key in "\r\n" else page

    def run(self) -> int:
        try:
            self.term.write(self.v.banner)
            if self.v.before_prompt == "anykey":
                self.term.write("Press any key to continue")
                if self.term.key() is None:
                    return 0
                self.term.write("\n")
            elif self.v.before_prompt == "license":
                self.term.write("\nDo you want to see the software license? [Y/n]: ")
                key = self.term.key()
                if key is None:
                    return 0
                self.term.write(key + "\n")
                if key in "Yy\r\n":
                    self.out("MikroTik RouterOS licence: see https://mikrotik.com/downloadterms.html\n")
            elif self.v.before_prompt == "menu":
                return self.menu()
            self.shell()
            return 0
        finally:
            self.term.restore()

    def menu(self) -> int:
        while True:
            self.term.write(PFSENSE_MENU + "Enter an option: ")
            choice = self.term.line()
            if choice is None or choice.strip() == "0":
                self.term.write("\n")
                return 0
            if choice.strip() == "8":
                self.term.write("\n")
                self.shell()
                continue
            if choice.strip():
                self.term.write(f"\nOption {choice.strip()} is not available on this console.\n\n")

    def shell(self) -> None:
        while True:
            self.term.write(self.prompt)
            line = self.term.line()
            if line is None:
                return
            command = " ".join(line.split())
            if not command:
                continue
            if not self.execute(command):
                return

    def execute(self, command: str) -> bool:
        v = self.v
        lower = command.lower()
        if self.sub is not None:  # FortiOS config block
            if lower == "end":
                self.sub = None
            elif lower == "set output standard":
                self.pager = False
            elif lower == "set output more":
                self.pager = True
            return True
        if lower in v.exits:
            if self.name == "hp_procurve" and lower == "logout":
                self.term.write("Do you want to log out [y/n]? ")
                key = self.term.key() or "y"
                self.term.write(key + "\n")
                return key in "nN"  # "n" stays logged in
            return False
        if lower == "enable" and v.enable:
            self.enable()
            return True
        if lower == "disable" and v.enable:
            self.level = "user"
            return True
        if self.name == "fortinet" and lower == "config system console":
            if self.level != "priv":
                self.term.write(v.error(self.prompt, command))
            else:
                self.sub = "console"
            return True
        if lower in v.pager_off:
            if self.args.deny_pager_off:
                self.term.write(v.error(self.prompt, command))
            else:
                self.pager = False
                self.term.write(v.pager_off[lower])
            return True
        if lower in v.commands:
            if lower in v.priv_commands and self.level != "priv":
                self.term.write(v.error(self.prompt, command))
                return True
            self.out(v.commands[lower])
            return True
        if self.name == "paloalto_panos" and lower.startswith("set cli "):
            self.term.write("Invalid syntax.\n")
            return True
        self.term.write(v.error(self.prompt, command))
        return True

    def enable(self) -> None:
        expected = None if self.args.no_enable else self.enable_password()
        if self.level == "priv":
            return
        if expected is None and not self.args.no_enable:
            self.level = "priv"  # no enable password configured
            return
        for _ in range(3):
            self.term.write("Password: ")
            given = self.term.line(echo=False)
            if given is None:
                return
            if expected is not None and given == expected:
                self.level = "priv"
                return
            if self.name in ("cisco_asa", "arista_eos", "ubiquiti_edge"):
                break  # these say no after one wrong answer
        self.term.write(self.v.enable_fail)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vendor", default=os.environ.get("EKT_VENDOR"), choices=sorted(VENDORS))
    parser.add_argument("--start", default=os.environ.get("EKT_START"), choices=["user", "priv"])
    parser.add_argument("--enable-file", default=os.environ.get("EKT_ENABLE_FILE"))
    parser.add_argument("--no-enable", action="store_true")
    parser.add_argument("--deny-pager-off", action="store_true")
    parser.add_argument("--page-lines", type=int, default=PAGE_LINES)
    args = parser.parse_args(argv)
    if not args.vendor:
        parser.error("--vendor (or EKT_VENDOR) is required")
    # sshd runs ForceCommand for exec requests too: refuse them like a device without exec.
    if os.environ.get("SSH_ORIGINAL_COMMAND"):
        sys.stderr.write("exec request refused: interactive shell only\n")
        return 1
    return Device(args.vendor, args).run()


if __name__ == "__main__":
    sys.exit(main())
