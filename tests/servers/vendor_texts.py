"""What the simulated devices print: realistic identity-command output, banners and menus.

Data for tests/servers/vendor_cli.py (kept apart so the simulator reads in one sitting). Standard
library only, like the simulator: both are copied beside each other and run by the system python
as an unprivileged test user.
"""

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
