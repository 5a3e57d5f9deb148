# Copyright (c) lvs.cluster contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/web/templates/nginx-site.conf.j2 rendered with plain Jinja2: the page is served from the site itself."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

ROOT = Path(__file__).resolve().parents[3]


def render(**values):
    env = Environment(loader=FileSystemLoader(str(ROOT / 'roles/web/templates')), trim_blocks=True,
                      undefined=StrictUndefined)
    env.filters['comment'] = lambda s: '# ' + s
    env.filters['bool'] = bool
    return env.get_template('nginx-site.conf.j2').render(ansible_managed='Ansible managed', **values)


def test_one_server_on_every_port_returning_the_page_with_nginx_escapes():
    text = render(web_ports=[80, 8080], web_listen_ipv6=False, web_page_content='life-rs1\n')
    assert '    listen 80 default_server;\n    listen 8080 default_server;\n' in text
    assert '[::]' not in text
    assert '        return 200 "life-rs1\\n";\n' in text
    assert text.count('{') == text.count('}')


def test_ipv6_listeners_and_a_page_without_newline():
    text = render(web_ports=[80], web_listen_ipv6=True, web_page_content='sorry from ha-director1')
    assert '    listen 80 default_server;\n    listen [::]:80 default_server;\n' in text
    assert 'return 200 "sorry from ha-director1";' in text
